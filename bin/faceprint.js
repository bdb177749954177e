#!/usr/bin/env node
// The version is checked before anything native loads (hence the dynamic import): under Node 20 the native
// modules ended in a bare "Segmentation fault" with no word of why.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `faceprint needs Node ≥ 22 (this is ${process.version}): install Node 22 or 24 LTS from nodejs.org or a version manager\n` +
    '(nvm install 24), or without root from the npm registry:\n' +
    '  npm install --prefix ~/.local/node24 node@24 && export PATH="$HOME/.local/node24/node_modules/node/bin:$PATH"\n',
  );
  process.exit(2);
}
const { main } = await import('../dist/cli/main.js');
await main(process.argv);
