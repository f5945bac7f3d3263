// Starts s3rver (npm) on a free loopback port for the s3 tests and
// benchmark: prints "PORT <n>" once it listens, serves until killed.
//   node s3rver_run.js DIR BUCKET...
'use strict';
const path = require('path');
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
