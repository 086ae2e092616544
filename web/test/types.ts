// Type-checked by `npm test` (tsc): the declarations describe the API as
// a TypeScript user imports it, through the package's own name.
import { analyze, render, ParseError, type Rule } from '@iptables-exporter/parser';
const text: string = render(new Uint8Array(), { family: 'ipv6', format: 'openmetrics' });
const a = analyze(new Uint8Array());
const rules: Rule[] = a.rules(0, 10);
const p: bigint | undefined = rules[0]?.counters?.packets;
a.dispose();
export { text, p, ParseError };
