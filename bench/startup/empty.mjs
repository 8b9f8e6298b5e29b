// Start-up baseline: an ES module that imports nothing.
process.stdout.write(JSON.stringify({ importAndConstructMs: 0 }));
