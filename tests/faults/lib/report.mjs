export const renderReport = (run) => JSON.stringify(run);
