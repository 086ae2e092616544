// Type-checked by `npm test` (tsc): the declarations describe the API as
// a TypeScript user imports it, through the package's own name.
import { analyze, kindOf, render, ParseError, type Kind, type NamedObject, type Rule } from '@iptables-exporter/parser';
const text: string = render(new Uint8Array(), { family: 'ipv6', format: 'openmetrics' });
const a = analyze(new Uint8Array());
const rules: Rule[] = a.rules(0, 10);
const p: bigint | undefined = rules[0]?.counters?.packets;
const objects: NamedObject[] = a.objects;
const elements: bigint | undefined = objects[0]?.elements;
const kind: Kind = kindOf(new Uint8Array());
const column: number | undefined = a.error?.column;
a.dispose();
export { text, p, elements, kind, column, ParseError };
