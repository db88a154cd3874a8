// Parses an AsyncAPI document with @asyncapi/parser (the AsyncAPI
// initiative's own) and fails on any error it reports.
import { Parser, fromFile } from '@asyncapi/parser';
import { resolve } from 'node:path';

const file = resolve(process.cwd(), process.argv[2]);
const { document, diagnostics } = await fromFile(new Parser(), file).parse();
const severity = ['error', 'warning', 'info', 'hint'];
for (const d of diagnostics) {
  console.log(`${severity[d.severity]} ${d.code} ${d.path.join('.')}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === 0).length;
console.log(`${file}: ${errors} errors, ${diagnostics.length - errors} other diagnostics`);
process.exit(errors === 0 && document ? 0 : 1);
