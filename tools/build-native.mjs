#!/usr/bin/env node
// Builds ulmfit's native kernels (native/src/*.cc) with node-gyp into
// native/build/Release/ulmfit_native.node. Incremental: configures when binding.gyp or abi.json
// (the ABI version and cache slots binding.gyp turns into defines) is newer than the build's
// Makefile, then `make` rebuilds only what changed.
//   node tools/build-native.mjs             fail (exit 1) when the build fails: npm test, CI
//   node tools/build-native.mjs --optional  warn and exit 0: `npm install`, where a machine without
//                                           a C++ compiler still gets a working ulmfit (wasm kernels)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const optional = process.argv.includes('--optional');
const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');

/** node-gyp: the one npm runs scripts with, else the one bundled with npm beside this node. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  return candidates.find((path) => path !== undefined && path !== '' && existsSync(path));
}

function fail(message) {
  if (optional) {
    console.warn(
      `ulmfit: native kernels not built (${message}); ulmfit runs on its WebAssembly kernels instead`,
    );
    process.exit(0);
  }
  console.error(`ulmfit: native kernels: ${message}`);
  process.exit(1);
}

if (process.env.ULMFIT_NATIVE === '0') {
  // Asked for: not a failure, in either mode (ULMFIT_NATIVE=0 npm test tests the wasm kernels alone).
  console.warn('ulmfit: native kernels not built (ULMFIT_NATIVE=0)');
  process.exit(0);
}
const gyp = nodeGyp();
if (gyp === undefined) fail('node-gyp not found: run this through npm (npm run build:native)');
const run = (args) =>
  spawnSync(process.execPath, [gyp, ...args], {
    cwd: nativeDir,
    stdio: optional ? 'pipe' : 'inherit',
    encoding: 'utf8',
  });
const makefile = join(nativeDir, 'build', 'Makefile');
// Configure once, and again whenever binding.gyp or abi.json changed since (make alone would not
// see either: the defines read from abi.json are fixed when configuring).
const configuredFrom = ['binding.gyp', 'abi.json'].map((file) => statSync(join(nativeDir, file)).mtimeMs);
if (!existsSync(makefile) || Math.max(...configuredFrom) > statSync(makefile).mtimeMs) {
  const configured = run(['configure']);
  if (configured.status !== 0)
    fail(
      `node-gyp configure failed${optional ? `: ${(configured.stderr ?? '').trim().split('\n').pop()}` : ''}`,
    );
}
const built = run(['build']);
if (built.status !== 0)
  fail(`node-gyp build failed${optional ? `: ${(built.stderr ?? '').trim().split('\n').pop()}` : ''}`);
