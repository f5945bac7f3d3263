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
const FilesystemStore = require(path.join(__dirname, 'node_modules', 's3rver', 'lib',
                                          'stores', 'filesystem'));

// s3rver 3.7.1 rolls a key up into a common prefix only when the key lies
// directly in that folder: it never descends below the delimiter, so
// "ws/" is not reported for "ws/proj/exp/experiment.json". S3 rolls up every
// key that holds the delimiter after the prefix (ListObjectsV2,
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
// Do that here. Its continuation token is the last object's key, which a
// page ending in a common prefix does not have, so a delimited listing is
// answered in one page.
const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const { delimiter, prefix = '', startAfter = '' } = options;
  if (!delimiter)
    return listObjects.call(this, bucket, options);
  const all = await listObjects.call(this, bucket,
                                     { prefix, startAfter, maxKeys: Infinity });
  const objects = [];
  const commonPrefixes = new Set();
  for (const object of all.objects) {
    const idx = object.key.slice(prefix.length).indexOf(delimiter);
    if (idx === -1)
      objects.push(object);
    else
      commonPrefixes.add(object.key.slice(0, prefix.length + idx + delimiter.length));
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated: false };
};
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
