/** The offset-keeping XML reader under the configuration parser (src/config/xml.ts). */
import t from 'tap';
import { XmlError, attributeValue, escapeXml, parseXml, rawXml } from '../../src/config/xml.js';

t.test('elements keep their exact source span, names resolve to namespaces', async (t) => {
  const src = `<?xml version="1.0" encoding="UTF-8"?>
<!-- leading comment -->
<a xmlns="urn:x" xmlns:p='urn:p'>
  <p:b  p:attr = 'v&amp;w' plain="1&#x41;&#66;">text &lt;here&gt;<![CDATA[<raw>&]]></p:b>
  <c/><?pi data?>
</a>
`;
  const root = parseXml(src);
  t.equal(root.local, 'a');
  t.equal(root.namespace, 'urn:x');
  t.equal(root.children.length, 2);
  const b = root.children[0]!;
  t.equal(b.qname, 'p:b');
  t.equal(b.namespace, 'urn:p');
  t.equal(attributeValue(b, 'attr', 'urn:p'), 'v&w');
  t.equal(attributeValue(b, 'plain'), '1AB', 'unprefixed attributes are in no namespace');
  t.equal(attributeValue(b, 'attr'), undefined);
  t.equal(b.text, 'text <here><raw>&');
  t.equal(rawXml(src, b), `<p:b  p:attr = 'v&amp;w' plain="1&#x41;&#66;">text &lt;here&gt;<![CDATA[<raw>&]]></p:b>`);
  const c = root.children[1]!;
  t.equal(rawXml(src, c), '<c/>');
  t.equal(c.namespace, 'urn:x', 'default namespace is inherited');
  t.equal(src.slice(root.start, root.end), src.slice(src.indexOf('<a '), src.lastIndexOf('</a>') + 4));
});

t.test('attribute values are normalized, namespaces can be undeclared and rebound', async (t) => {
  const root = parseXml('<r xmlns="urn:1"><s xmlns="" a="x\ty\nz"/><q:t xmlns:q="urn:q"><q:u xmlns:q="urn:q2"/></q:t></r>');
  t.equal(root.children[0]!.namespace, undefined);
  t.equal(attributeValue(root.children[0]!, 'a'), 'x y z');
  t.equal(root.children[1]!.children[0]!.namespace, 'urn:q2');
});

t.test('a byte order mark before the document is skipped', async (t) => {
  t.equal(parseXml('\ufeff<r/>').local, 'r');
});

t.test('malformed and unsafe documents are refused with an offset', async (t) => {
  const bad: [string, RegExp][] = [
    ['', /expected the root element/],
    ['<!DOCTYPE r [<!ENTITY x "y">]><r/>', /DOCTYPE declarations are not accepted/],
    ['<r><!ENTITY x "y"></r>', /markup declarations are not accepted/],
    ['<r>&x;</r>', /unknown entity &x;/],
    ['<r>a & b</r>', /"&" not starting an entity reference/],
    ['<r>&#0;</r>', /names a character XML forbids/],
    ['<r>&#xD800;</r>', /names a character XML forbids/],
    ['<r></s>', /end tag <\/s> does not match <r>/],
    ['<r>', /element <r> is not closed/],
    ['<r a="1" a="2"/>', /duplicate attribute a/],
    ['<r xmlns:p="u" xmlns:q="u" p:a="1" q:a="2"/>', /appears twice \(same namespace\)/],
    ['<r a=1/>', /attribute a value is not quoted/],
    ['<r a="<"/>', /"<" inside the value of attribute a/],
    ['<r a="1"b="2"/>', /expected whitespace before an attribute/],
    ['<p:r/>', /namespace prefix p is not declared/],
    ['<r xmlns:p=""/>', /prefix p bound to the empty namespace/],
    ['<r/><s/>', /content after the root element/],
    ['<r/>text', /content after the root element/],
    ['<r>]]></r>', /"]]>" in character data/],
    ['<r><!-- a -- b --></r>', /"--" inside a comment/],
    ['<r>\u0001</r>', /character U\+0001 is not allowed/],
    ['<?xml version="1.0" encoding="ISO-8859-1"?><r/>', /unsupported encoding ISO-8859-1/],
    ['<?xml version="1.0" standalone="maybe"?><r/>', /malformed XML declaration/],
    ['<r/><?xml version="1.0"?>', /XML declaration not at the start/],
    ['<r>\ud800</r>', /unpaired surrogate/],
    ['<1r/>', /expected a name/],
  ];
  for (const [src, msg] of bad) {
    t.throws(() => parseXml(src), { name: 'XmlError', message: msg }, JSON.stringify(src));
  }
  const err = (() => {
    try {
      parseXml('<r><s></r>');
    } catch (e) {
      return e as XmlError;
    }
    return undefined;
  })();
  t.equal(err?.offset, 8, 'the offset points at the bad end tag name');
});

t.test('limits bound depth, element count and attribute count', async (t) => {
  t.throws(() => parseXml('<a>'.repeat(65) + '</a>'.repeat(65)), { message: /nested deeper than 64/ });
  t.equal(parseXml('<a>'.repeat(64) + '</a>'.repeat(64)).local, 'a');
  t.throws(() => parseXml(`<r>${'<e/>'.repeat(30)}</r>`, { maxElements: 20 }), { message: /more than 20 elements/ });
  t.throws(() => parseXml(`<r ${Array.from({ length: 5 }, (_, i) => `a${i}="1"`).join(' ')}/>`, { maxAttributes: 4 }), { message: /more than 4 attributes/ });
  // Deep nesting uses no recursion: a very deep document fails cleanly, not with a stack overflow.
  t.throws(() => parseXml('<a>'.repeat(200_000)), XmlError);
});

t.test('random garbage never escapes as anything but XmlError', async (t) => {
  const base = '<r xmlns:p="u"><p:a b="c">d&amp;e</p:a><![CDATA[x]]><!--c--></r>';
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = '<>/&;="\'!-[]?:ab \n';
  for (let i = 0; i < 3000; i++) {
    const chars = base.split('');
    for (let k = 0; k < 1 + rnd(4); k++) chars[rnd(chars.length)] = alphabet[rnd(alphabet.length)]!;
    try {
      parseXml(chars.join(''));
    } catch (err) {
      if (!(err instanceof XmlError)) t.fail(`${JSON.stringify(chars.join(''))} threw ${String(err)}`);
    }
  }
  t.pass('3000 mutated documents');
});

t.test('escapeXml escapes the five markup characters', async (t) => {
  t.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  t.equal(parseXml(`<r a="${escapeXml(`"<&>'`)}">${escapeXml('<&>')}</r>`).text, '<&>');
});
