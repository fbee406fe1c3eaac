/** multipart/form-data parsing and building (certs/multipart.ts). */
import t from 'tap';
import { MultipartError, boundaryOf, buildMultipart, parseHeaderParameters, parseMultipart } from '../../certs/multipart.js';

const CSR = Buffer.from([0x30, 0x82, 0x00, 0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0x00]);

t.test('builder and parser agree, binary data included', async (t) => {
  const { body, contentType } = buildMultipart([
    { name: 'username', data: 'alice@example.org' },
    { name: 'password', data: 'pä$$ word' },
    { name: 'csr', data: CSR, contentType: 'application/pkcs10', filename: 'csr.der' },
  ]);
  const boundary = boundaryOf(contentType);
  const parts = parseMultipart(body, boundary);
  t.same(parts.map((p) => p.name), ['username', 'password', 'csr']);
  t.equal(parts[1]!.data.toString('utf8'), 'pä$$ word');
  t.same(parts[2]!.data, CSR);
  t.equal(parts[2]!.contentType, 'application/pkcs10');
  t.equal(parts[2]!.filename, 'csr.der');
  t.equal(parts[0]!.contentType, undefined);
});

t.test('RFC 2046 framing: preamble, epilogue, transport padding, quoted boundary, empty parts', async (t) => {
  const b = 'simple boundary';
  const body = Buffer.from(
    [
      'This is the preamble.  It is to be ignored.',
      `--${b}  `,
      'Content-Disposition: form-data; name="a"',
      '',
      'line one',
      `--${b}X is data, not a delimiter`,
      `--${b}`,
      'content-disposition: FORM-DATA; name=b; filename="x \\"q\\".bin"',
      'Content-Type: Application/PKCS10; foo=bar',
      'Content-Transfer-Encoding: binary',
      '',
      '',
      `--${b}--`,
      'This is the epilogue.',
    ].join('\r\n'),
  );
  const parts = parseMultipart(body, boundaryOf(`multipart/form-data; boundary="${b}"`));
  t.same(parts.map((p) => [p.name, p.data.toString()]), [
    ['a', `line one\r\n--${b}X is data, not a delimiter`],
    ['b', ''],
  ]);
  t.equal(parts[1]!.filename, 'x "q".bin');
  t.equal(parts[1]!.contentType, 'application/pkcs10');
  t.equal(parts[1]!.headers['content-transfer-encoding'], 'binary');
});

t.test('Content-Type boundaries', async (t) => {
  t.equal(boundaryOf('multipart/form-data;boundary=abc'), 'abc');
  t.equal(boundaryOf('Multipart/Form-Data; charset=utf-8; BOUNDARY="a:b"'), 'a:b');
  t.throws(() => boundaryOf(undefined), MultipartError);
  t.throws(() => boundaryOf('application/json'), { message: 'Content-Type is application/json, not multipart/form-data' });
  t.throws(() => boundaryOf('multipart/form-data'), { message: 'multipart/form-data without a boundary' });
  t.throws(() => boundaryOf(`multipart/form-data; boundary=${'x'.repeat(71)}`), { message: 'malformed multipart boundary' });
  t.throws(() => boundaryOf('multipart/form-data; boundary="ends with space "'), { message: 'malformed multipart boundary' });
  t.throws(() => boundaryOf('multipart/form-data; boundary=a; boundary=b'), { message: 'parameter boundary appears twice' });
  t.throws(() => boundaryOf('multipart/form-data; boundary="unterminated'), { message: /malformed header parameters/ });
  t.same(parseHeaderParameters('form-data; name="a;b"; filename=c').params, { name: 'a;b', filename: 'c' });
});

t.test('malformed bodies are refused with MultipartError', async (t) => {
  const b = 'XyZ';
  const part = (headers: string[], data = 'v'): string => `--${b}\r\n${headers.join('\r\n')}\r\n\r\n${data}\r\n`;
  const ok = 'Content-Disposition: form-data; name="f"';
  const cases: [string, RegExp][] = [
    ['', /holds no boundary/],
    ['no boundary anywhere', /holds no boundary/],
    [`--${b}`, /boundary not followed by CRLF/],
    [`--${b}x\r\n`, /boundary not followed by CRLF/],
    [part([ok]) + `--${b}--x`, /not closed by its boundary/],
    [part([ok]), /not closed by its boundary/],
    [`--${b}\r\n${ok}\r\n`, /part headers do not end/],
    [part(['Content-Disposition: form-data; name="f"', ' folded']) + `--${b}--`, /folded part header lines/],
    [part(['no colon here']) + `--${b}--`, /malformed part header/],
    [part(['Bad Name: x']) + `--${b}--`, /malformed part header name/],
    [part([ok, ok]) + `--${b}--`, /part header content-disposition appears twice/],
    [part(['Content-Type: text/plain']) + `--${b}--`, /part without Content-Disposition/],
    [part(['Content-Disposition: attachment; name="f"']) + `--${b}--`, /disposition is attachment, not form-data/],
    [part(['Content-Disposition: form-data']) + `--${b}--`, /form-data part without a name/],
    [part(['Content-Disposition: form-data; name=""']) + `--${b}--`, /form-data part without a name/],
    [part([ok, 'Content-Transfer-Encoding: base64']) + `--${b}--`, /Content-Transfer-Encoding base64 is not accepted/],
    [part([`${ok}\u0000`]) + `--${b}--`, /control or non-ASCII byte/],
    [part([`X-Header: caf\u00e9`]) + `--${b}--`, /control or non-ASCII byte/],
    [part([`${ok}\nX-Bare: lf`]) + `--${b}--`, /bare CR or LF/],
    [part([`X-Long: ${'a'.repeat(5000)}`, ok]) + `--${b}--`, /part headers exceed 4096 bytes/],
    [Array.from({ length: 17 }, (_, i) => part([`Content-Disposition: form-data; name="f${i}"`])).join('') + `--${b}--`, /more than 16 parts/],
  ];
  for (const [body, message] of cases) {
    t.throws(() => parseMultipart(Buffer.from(body, 'latin1'), b), { name: 'MultipartError', message }, JSON.stringify(body.slice(0, 80)));
  }
  t.throws(() => parseMultipart(Buffer.from('x'), 'bad\u0000'), { message: 'malformed multipart boundary' });
  t.same(parseMultipart(Buffer.from(`--${b}--`), b), [], 'an empty form');
  t.equal(parseMultipart(Buffer.from(part([ok]) + `--${b}--`), b, { maxParts: 1 }).length, 1);
});

t.test('the builder refuses what it cannot frame, and avoids boundaries found in data', async (t) => {
  t.throws(() => buildMultipart([{ name: 'a"b', data: '' }]), MultipartError);
  t.throws(() => buildMultipart([{ name: 'a', data: '', filename: 'x\r\ny' }]), MultipartError);
  t.throws(() => buildMultipart([{ name: 'a', data: '' }], 'bad boundary '), MultipartError);
  const fixed = buildMultipart([{ name: 'a', data: 'x' }], 'fixed');
  t.equal(fixed.contentType, 'multipart/form-data; boundary=fixed');
  t.equal(fixed.body.toString(), '--fixed\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--fixed--\r\n');
  const { body, contentType } = buildMultipart([{ name: 'a', data: 'reload-node-' }]);
  t.equal(parseMultipart(body, boundaryOf(contentType))[0]!.data.toString(), 'reload-node-');
});

t.test('random mutations only ever raise MultipartError', async (t) => {
  const { body, contentType } = buildMultipart(
    [
      { name: 'username', data: 'alice@example.org' },
      { name: 'csr', data: CSR, contentType: 'application/pkcs10' },
    ],
    'bnd',
  );
  const boundary = boundaryOf(contentType);
  let seed = 9;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const interesting = Buffer.from('\r\n-:;="bnd \t\x00\xff');
  for (let i = 0; i < 5000; i++) {
    const m = Buffer.from(body);
    for (let k = 0; k < 1 + rnd(4); k++) m[rnd(m.length)] = interesting[rnd(interesting.length)]!;
    const input = i % 5 === 0 ? m.subarray(0, rnd(m.length)) : m;
    try {
      parseMultipart(input, boundary);
    } catch (err) {
      if (!(err instanceof MultipartError)) t.fail(`threw ${String(err)}`);
    }
  }
  t.pass('5000 mutated bodies');
});
