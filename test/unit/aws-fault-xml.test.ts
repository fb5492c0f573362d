// test/aws/xml.ts: the fault proxy's reading of EC2 answers must find the right <item>s even when
// they nest (a route table's associations and routes are <item>s inside its own <item>).
import assert from 'node:assert/strict';
import { ec2ErrorXml, setItems, tagText } from '../aws/xml.js';

const ANSWER =
  '<DescribeRouteTablesResponse><routeTableSet>' +
  '<item><associationSet><item><main>true</main></item></associationSet><routeTableId>rtb-1</routeTableId>' +
  '<routeSet><item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock></item><item><destinationCidrBlock>100.64.1.0/24</destinationCidrBlock></item></routeSet></item>' +
  '<item><associationSet/><routeTableId>rtb-2</routeTableId><routeSet/></item>' +
  '</routeTableSet><requestId>r</requestId></DescribeRouteTablesResponse>';

describe('fault proxy XML helpers', () => {
  it('top-level items of a set, nested items kept inside their parent', () => {
    const tables = setItems(ANSWER, 'routeTableSet')!;
    assert.deepEqual(
      tables.items.map((t) => tagText(t.text, 'routeTableId')),
      ['rtb-1', 'rtb-2'],
    );
    assert.deepEqual(
      setItems(tables.items[0]!.text, 'routeSet')!.items.map((r) => tagText(r.text, 'destinationCidrBlock')),
      ['10.0.0.0/16', '100.64.1.0/24'],
    );
    assert.equal(setItems(tables.items[1]!.text, 'routeSet'), undefined); // <routeSet/>: no routes
    assert.equal(ANSWER.slice(tables.close, tables.close + '</routeTableSet>'.length), '</routeTableSet>');
  });

  it('error answers escape what they quote', () => {
    assert.match(ec2ErrorXml('InvalidParameterValue', "bad <value> & 'x'", 'req'), /<Message>bad &lt;value&gt; &amp; 'x'<\/Message>/);
  });
});
