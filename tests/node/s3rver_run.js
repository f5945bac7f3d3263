// Starts s3rver (npm) on a free loopback port for the s3 tests and
// benchmark: prints "PORT <n>" once it listens, serves until killed.
//   node s3rver_run.js DIR BUCKET...
'use strict';
const path = require('path');
const crypto = require('crypto');
const { spawn } = require('child_process');

// s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3
// keeps in its legacy provider: without it every listing of more than one
// page fails with HTTP 500. Run again with the provider when it is off.
function desWorks() {
  try {
    crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch (e) {
    return false;
  }
}
if (!desWorks()) {
  if (process.execArgv.includes('--openssl-legacy-provider')) {
    process.stderr.write('s3rver: DES is unavailable even with the legacy provider\n');
    process.exit(1);
  }
  const child = spawn(process.execPath,
                      ['--openssl-legacy-provider', __filename, ...process.argv.slice(2)],
                      { stdio: 'inherit' });
  for (const sig of ['SIGTERM', 'SIGINT'])
    process.on(sig, () => child.kill(sig));
  child.on('exit', code => process.exit(code === null ? 1 : code));
  return;
}

const S3rver = require(path.join(__dirname, 'node_modules', 's3rver'));
const [dir, ...buckets] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: node s3rver_run.js DIR BUCKET...\n');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  configureBuckets: buckets.map(name => ({ name })),
});
server.run().then(addr => {
  process.stdout.write(`PORT ${addr.port}\n`);
}, err => {
  process.stderr.write(`s3rver: ${err.message}\n`);
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => server.close(() => process.exit(0)));
