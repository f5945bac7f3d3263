#!/usr/bin/env python3
"""Writes the seed inputs of tests/fuzz/corpus/ from tests/fixtures and small
hand-made inputs (rerun it to regenerate them; inputs the fuzzers found and
that were committed as regressions are named crash-* and kept)."""
import hashlib, io, os, re, struct, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'fuzz', 'corpus')
FIX = os.path.join(ROOT, 'tests', 'fixtures')


# a machine path in a vendor's file (scripts/check_paths.sh exempts only
# tests/fixtures/): such inputs are left out
MACHINE = re.compile(rb'/(home|Users)/[A-Za-z0-9_.-]+/|/ro' rb'ot/|/wo' rb'rk/')


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if MACHINE.search(data):
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + hashlib.sha1(data).hexdigest()[:16]), 'wb') as f:
        f.write(data)


def fixtures(suffix, limit=40000):
    for dp, _, fs in sorted(os.walk(FIX)):
        for f in sorted(fs):
            p = os.path.join(dp, f)
            if f.endswith(suffix) and os.path.getsize(p) <= limit:
                yield p


def lines():
    for p in fixtures('.jsonl'):
        with open(p, 'rb') as f:
            for i, line in enumerate(f):
                if i < 4:
                    yield line.rstrip(b'\n')
    for p in fixtures('.json', 4000):
        with open(p, 'rb') as f:
            yield f.read()


objects = [
    '{}', '{"a":1}', '{"a":1.0,"b":-0.0,"c":NaN,"d":Infinity,"e":-Infinity}',
    '{"step":9223372036854775807,"u":18446744073709551615,"big":1e400}',
    '{"s":"\\u00e9\\ud83d\\ude00\\n\\t\\"","k\\u0000":null,"t":true,"f":false}',
    '{"nested":{"x":[1,2,{"y":"z"}]},"arr":[1.5,"a",null]}',
    '{"a":"NaN","_xport":{"a":"f"}}', '{"_xport":7,"x":1}',
    '{"v":1,"_xport":{"v":"f","_xport":{"o":7}}}',
    ' { "a" : 1 , "b" : [ ] } ', '{"a":1}{"b":2}', '{"a":01}', '{"a":1.}',
    '{"a":"\\ud800"}', '{"a":"\xff"}',
]
for line in list(lines()) + [o.encode('latin-1') if '\xff' in o else o.encode() for o in objects]:
    put('jscan', line)
    put('typemark', line)

for t in ['0', '-0', '1', '-1.5', '0.1', '1e308', '1.7976931348623157e308', '5e-324',
          '2.2250738585072014e-308', '4.9e-324', '1e-400', '123456789012345678901234567890',
          '9007199254740993', '0.30000000000000004', 'NaN', 'Infinity', '-Infinity',
          '1E+2', '1.0e-5', '-', '.5', '1e', '00', '+1', '0x10', 'inf']:
    put('number', t)
for d in [0.0, -0.0, 1.0, 0.1, float('inf'), float('-inf'), 5e-324, 1.7976931348623157e308]:
    put('number', struct.pack('<d', d))
put('number', struct.pack('<Q', 0x7ff8000000000001))

for t in ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.123456789Z', '2024-01-02 03:04:05',
          '1969-12-31T23:59:59.999999999+01:00', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59-0130',
          '2024-02-29T00:00:00z', '2023-02-29T00:00:00Z', '2024-01-02T03:04:60Z',
          '2024-01-02T03:04:05.1234567891234+05', '2024-01-02t03:04:05',
          '0', '-9223372036854775808', '9223372036854775807', '9223372036854775808',
          '18446744073709551615', '+12', '12abc', '']:
    put('iso8601', t)

for p in fixtures('.wandb', 8000):
    with open(p, 'rb') as f:
        data = f.read()
    put('wandb_log', data)
    # the records inside, as protobuf messages
    pos, n = 7, 0
    while pos + 7 <= len(data) and n < 3:
        _, ln, typ = struct.unpack('<IHB', data[pos:pos + 7])
        rec = data[pos + 7:pos + 7 + ln]
        if typ == 1 and rec:
            put('pb', rec)
            put('wandb_value', rec)
            n += 1
        pos += 7 + ln
put('wandb_log', b':W&B\xe1\xbe\x00')
put('wandb_log', b':W&B\xe1\xbe\x01' + b'\x00' * 32)
for m in [b'', b'\x08\x01', b'\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01', b'\x12\x03abc',
          b'\x1a\x04\x08\x01\x10\x02', b'\x0d\x01\x02\x03\x04', b'\x09' + b'\x00' * 8,
          b'\x0b\x0c', b'\x00\x01', b'\x12\x80\x01', b'\xfa\xff\xff\xff\x0f\x00']:
    put('pb', m)

for p in fixtures('.parquet', 8000):
    with open(p, 'rb') as f:
        put('parquet', f.read())
put('parquet', b'PAR1PAR1')
put('parquet', b'PAR1\x00\x00\x00\x00PAR1')


def mkzip(entries, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w', method) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 6)), data,
                       compress_type=method)
    return b.getvalue()


put('zip', mkzip([('a.txt', 'hello'), ('dir/', ''), ('dir/b.json', '{"x":1}')]))
put('zip', mkzip([('a.txt', 'hello' * 50)], zipfile.ZIP_STORED))
put('zip', mkzip([('../evil', 'x'), ('/abs', 'y')]))
put('zip', mkzip([('same', '1'), ('same', '2')]))
put('zip', mkzip([('zeros', b'\0' * 20000)]))
put('zip', b'PK\x05\x06' + b'\x00' * 18)

# ml-dash /data pages and buffers (shape: tests/emulators' ml-dash server)
pts = []
for p in fixtures('data.jsonl'):
    with open(p, 'rb') as f:
        for i, line in enumerate(f.read().splitlines()[:3]):
            pts.append(b'{"index":%d,"data":%s,"createdAt":"2024-01-02T03:04:05.000Z"}' % (i, line))
for k in range(0, len(pts), 2):
    put('mldash_page', b'{"data":[' + b','.join(pts[k:k + 2]) + b'],"hasMore":true}')
for page in ['{"data":[],"hasMore":false}', '{"hasMore":false,"data":[{"index":"7","data":{}}]}',
             '{"data":[{"data":{"v":1},"index":3,"x":"\\u00e9"}]}',
             '{"data":[{"index":1,"data":{"value":1.0,"_xport":{"value":"f"}}}],"total":1}',
             '{"data":[{"index":1,"data":{"a":[1,{"b":"]"}]},"createdAt":null}', '{"data":[{"index":',
             '{"metric":{"name":"loss"},"data":[{"index":0,"data":{"value":NaN}}]}']:
    put('mldash_page', page)

# layout files of one ml-dash local-store experiment, NUL-separated
exp = os.path.join(FIX, 'mldash')
for store in sorted(os.listdir(exp)):
    for dp, _, fs in os.walk(os.path.join(exp, store)):
        if 'experiment.json' in fs:
            parts = []
            for rel in ['experiment.json', 'parameters.json', 'metrics/loss/data.jsonl',
                        'metrics/loss/metadata.json', 'logs/logs.jsonl']:
                try:
                    with open(os.path.join(dp, rel), 'rb') as f:
                        parts.append(f.read())
                except OSError:
                    parts.append(b'')
            put('layout', b'\0'.join(parts))
put('layout', b'{"name":"e"}\0{"a":{"b":1.0}}\0{"index":0,"data":{"value":NaN}}\0{}\0'
    b'{"timestamp":"2024-01-02T03:04:05Z","level":"info","message":"m"}')
put('layout', b'{}\0\0\0\0')

for t in ['1', '-1.5', '0.1', 'NaN', 'Infinity', '-Infinity', '"s\\u00e9"', '{"a":1,"b":[1.0]}',
          '[1,2]', 'true', 'false', 'null', '1e400', '18446744073709551615', '-0', '-0.0',
          '9223372036854775808', '1.', '{"_type":"histogram","bins":[0,1],"values":[3]}']:
    put('wandb_value', t)


# on-disk adapters fed through fuzz_tree.h: the files the generators of
# tests/comet and tests/neptune write, NUL-separated in the target's order
# (a piece larger than 40 kB is cut, to keep the corpus small)
import subprocess, tempfile


def tree(target, base, rels, tmp, limit=40000):
    parts = []
    for rel in rels:
        try:
            with open(os.path.join(base, rel), 'rb') as f:
                # the generators' absolute paths made the same on every run
                parts.append(f.read()[:limit].replace(b'\0', b'').replace(tmp.encode(), b'/tmp/seed'))
        except OSError:
            parts.append(b'')
    if any(parts):
        put(target, b'\0'.join(parts))


with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(['python3', os.path.join(ROOT, 'tests', 'comet', 'make_fixtures.py'), 'cometx',
                    os.path.join(tmp, 'cx')], check=True, stdout=subprocess.DEVNULL)
    for dp, _, fs in sorted(os.walk(os.path.join(tmp, 'cx'))):
        if 'metadata.json' in fs:
            tree('cometx', dp, ['metadata.json', 'parameters.json', 'metrics.jsonl', 'others.jsonl',
                                'system_details.json', 'assets/assets_metadata.jsonl',
                                'run/git_metadata.json', 'run/output.txt',
                                '../project_metadata.json'], tmp)
    subprocess.run(['python3', os.path.join(ROOT, 'tests', 'neptune', 'gen_neptune.py'),
                    os.path.join(tmp, 'np')], check=True, stdout=subprocess.DEVNULL)
    for kind in ['offline', 'async']:
        top = os.path.join(tmp, 'np', '.neptune', kind)
        for dp, _, fs in sorted(os.walk(top)):
            logs = sorted(f for f in fs if f.startswith('data-'))
            if logs:
                tree('neptune_offline', dp, ['metadata.json'] + (logs + [''])[:2] +
                     ['last_put_version'], tmp)
    for dp, _, fs in sorted(os.walk(os.path.join(tmp, 'np', 'backup'))):
        if 'simple_metadata.json' in fs:
            tree('neptune_backup', dp, ['simple_metadata.json', 'train/loss.csv',
                                        'monitoring/0a1b2c3d/stdout.csv', 'results.csv',
                                        ''], tmp)  # its zip has the run's clock in it
            tree('neptune_backup', dp, ['simple_metadata.json', 'train/fine.csv',
                                        'monitoring/0a1b2c3d/cpu.csv', 'edge/nonfinite.csv', ''], tmp)

# neptune-scale: each run's operations from the generator's databases,
# as [type][length, 2 bytes LE][operation] records (fuzz_neptune_scale.c)
import sqlite3
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(['python3', os.path.join(ROOT, 'tests', 'neptune', 'gen_neptune_scale.py'), 'gen',
                    os.path.join(tmp, 'ns')], check=True, stdout=subprocess.DEVNULL)
    for dp, _, fs in sorted(os.walk(os.path.join(tmp, 'ns'))):
        if 'run_operations.sqlite3' in fs:
            c = sqlite3.connect(os.path.join(dp, 'run_operations.sqlite3'))
            out = b''
            try:
                for typ, op in c.execute('SELECT operation_type, operation FROM run_operations '
                                         'ORDER BY sequence_id'):
                    if len(out) + len(op) > 20000 or len(op) > 0xffff:
                        continue
                    out += struct.pack('<BH', typ, len(op)) + op
            except sqlite3.DatabaseError:
                pass  # the generator's damaged database
            c.close()
            if out:
                put('neptune_scale', out)

# comet-offline: experiment.json NUL messages.json of the generator's zip
# (its first 40 kB of messages, cut at a line end)
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(['python3', os.path.join(ROOT, 'tests', 'comet', 'make_fixtures.py'), 'offline',
                    os.path.join(tmp, 'off')], check=True, stdout=subprocess.DEVNULL)
    for zp in sorted(os.listdir(os.path.join(tmp, 'off'))):
        with zipfile.ZipFile(os.path.join(tmp, 'off', zp)) as z:
            names = z.namelist()
            if 'experiment.json' in names and 'messages.json' in names:
                msgs = z.read('messages.json')
                cut = msgs[:40000]
                cut = cut[:cut.rfind(b'\n') + 1] if b'\n' in cut else cut
                put('comet_offline', z.read('experiment.json') + b'\0' + cut)
                lines = msgs.split(b'\n')
                put('comet_offline', z.read('experiment.json') + b'\0' + b'\n'.join(lines[:12]))

# Neptune series pages (fuzz_neptune_page.c: first byte 1 float, 0 string)
for kind, page in [
        (1, '{"totalItemCount":3,"values":[{"step":0.0,"value":0.5,"timestampMillis":1767323045123},'
            '{"step":1.5,"value":-0.0,"timestampMillis":1767323045124},'
            '{"step":2,"value":1e-300,"timestampMillis":1767323045125}]}'),
        (1, '{"values":[{"step":null,"value":"NaN","timestampMillis":1}],"totalItemCount":1}'),
        (1, '{"totalItemCount":2,"values":[{"value":"Infinity","timestampMillis":1},'
            '{"value":"-Infinity","step":1e-6,"timestampMillis":2}]}'),
        (1, '{"totalItemCount":0,"values":[]}'),
        (1, '{"totalItemCount":1,"values":[{"value":1.7976931348623157e308,"step":9007199254740993,'
            '"timestampMillis":-1}]}'),
        (0, '{"totalItemCount":2,"values":[{"step":0,"value":"line \\u00e9\\n","timestampMillis":5},'
            '{"step":1,"value":"","timestampMillis":6}]}'),
        (0, '{"totalItemCount":1,"values":[{"value":"\\ud83d\\ude00","timestampMillis":1,"extra":{"a":[1]}}]}')]:
    put('neptune_page', bytes([kind]) + page.encode())

# Comet metric values as its REST API returns them (tests/comet/make_fixtures.py)
for t in ['1.0E-300', '1e-300', '-0.0', '4.9E-324', '5e-324', '1.7976931348623157E308',
          '1.7976931348623157e+308', '0.30000000000000004', '9007199254740994.0',
          '9.007199254740994E15', '1.0E-5', 'NaN', 'Infinity', '-Infinity', '42',
          '-9223372036854775808', '9223372036854775808', '0.5003255009651184', 'abc', '', '-',
          '1e400', '0x10', ' 1', '1 ', '+1', '-NaN', 'nan', 'inf']:
    put('comet_value', t)
