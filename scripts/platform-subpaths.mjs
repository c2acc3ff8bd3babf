#!/usr/bin/env node
/**
 * Rewrites every `import { … } from '@bth/platform'` in the repo into one import per subpath
 * (`@bth/platform/db`, `/amqp`, `/http`, …: packages/platform/package.json `exports`), so a
 * service loads only the platform modules, and their libraries, that it uses. Which module a name
 * comes from is read from packages/platform/src itself, so the script stays right as platform
 * grows; re-run it after merging branches that added imports of the root.
 *
 *   node scripts/platform-subpaths.mjs          rewrite in place, list the files changed
 *   node scripts/platform-subpaths.mjs --check  change nothing; exit 1 if any file still imports the root
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const platformSrc = join(root, 'packages/platform/src');
const check = process.argv.includes('--check');

/** name → module (file name without `.ts`) for everything platform's modules export. */
function exportMap() {
  const owner = new Map();
  const modules = readdirSync(platformSrc).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'index.ts');
  for (const file of modules) {
    const module = file.slice(0, -'.ts'.length);
    const text = readFileSync(join(platformSrc, file), 'utf8');
    const names = [];
    for (const m of text.matchAll(
      /^export\s+(?:declare\s+)?(?:default\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\*?|const|let|var|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm,
    ))
      names.push(m[1]);
    for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)) {
      for (const spec of m[1].split(',')) {
        const name = spec
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)
          .pop()
          ?.trim();
        if (name) names.push(name);
      }
    }
    for (const name of names) {
      if (owner.has(name) && owner.get(name) !== module) throw new Error(`${name} is exported by both ${owner.get(name)} and ${module}`);
      owner.set(name, module);
    }
  }
  return owner;
}

const SKIP = new Set(['node_modules', 'dist', '.git', '.turbo', 'coverage']);
function* sourceFiles(dir) {
  for (const entry of readdirSync(dir)) {
    if (SKIP.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|js|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) yield path;
  }
}

const owner = exportMap();
const IMPORT = /import\s+(type\s+)?\{([^}]*)\}\s+from\s+'@bth\/platform';/g;
const changed = [];
const unknown = [];

for (const file of sourceFiles(root)) {
  if (file.startsWith(platformSrc)) continue;
  const text = readFileSync(file, 'utf8');
  if (!text.includes("'@bth/platform'")) continue;
  const next = text.replace(IMPORT, (whole, typeOnly, list) => {
    const byModule = new Map();
    for (const raw of list.split(',')) {
      const spec = raw.trim();
      if (!spec) continue;
      const name = spec
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]
        .trim();
      const module = owner.get(name);
      if (!module) {
        unknown.push(`${relative(root, file)}: ${name}`);
        return whole;
      }
      if (!byModule.has(module)) byModule.set(module, []);
      byModule.get(module).push(spec);
    }
    return [...byModule.keys()]
      .sort()
      .map((module) => {
        const specs = byModule.get(module);
        // `import type { … }` stays type-only; a list of only `type X` becomes `import type`.
        const allTypes = typeOnly || specs.every((s) => s.startsWith('type '));
        const names = allTypes ? specs.map((s) => s.replace(/^type\s+/, '')) : specs;
        return `import ${allTypes ? 'type ' : ''}{ ${names.join(', ')} } from '@bth/platform/${module}';`;
      })
      .join('\n');
  });
  if (next !== text) {
    changed.push(relative(root, file));
    if (!check) writeFileSync(file, next);
  }
}

if (unknown.length) {
  console.error(`names no platform module exports (left as they were):\n  ${unknown.join('\n  ')}`);
  process.exitCode = 1;
}
if (check) {
  if (changed.length) {
    console.error(`${changed.length} files still import the @bth/platform root:\n  ${changed.join('\n  ')}`);
    process.exitCode = 1;
  }
} else {
  console.log(`${changed.length} files rewritten${changed.length ? `:\n  ${changed.join('\n  ')}` : ''}`);
}
