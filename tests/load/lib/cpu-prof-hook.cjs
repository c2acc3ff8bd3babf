// Loaded with NODE_OPTIONS=--require by `npm run bench --profile` (Node 20 refuses --cpu-prof in
// NODE_OPTIONS): profiles the process with the inspector from the moment it gets SIGUSR2 (the
// bench sends it once start-up and seeding are over, so module loading stays out of the
// profile) and writes a .cpuprofile into BENCH_PROFILE_DIR when it exits. The main-thread session answers synchronously, so the profile
// can be taken inside the 'exit' handler.
const { Session } = require('node:inspector');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 1 ms between samples: V8's default; finer sampling costs the service noticeably more CPU.
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  let started = false;
  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    session.post('Profiler.start');
  });
  process.once('exit', () => {
    if (!started) return;
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
