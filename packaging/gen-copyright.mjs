// Writes the Debian copyright file (DEP-5) for the .deb to stdout.
//
// The two programs are esbuild bundles: pgduplex's own code plus the npm
// packages it uses at run time. Those packages are listed from
// package-lock.json (every non-dev entry: the production dependency closure,
// a superset of what the bundles contain), with the copyright line and
// license of each. Usage: node packaging/gen-copyright.mjs <project-root> <year>
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [root, year] = process.argv.slice(2);
if (!root || !/^\d{4}$/.test(year ?? '')) {
  console.error('usage: gen-copyright.mjs <project-root> <year>');
  process.exit(2);
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));

// Full texts of the licenses found in the dependency tree today. A new
// dependency under another license falls back to that package's own LICENSE
// file, and the build fails if it has none.
const TEXTS = {
  MIT: `Permission is hereby granted, free of charge, to any person obtaining a
copy of this software and associated documentation files (the "Software"),
to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense,
and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.`,
  ISC: `Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`,
  'Apache-2.0': `Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at
http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.

On Debian systems, the complete text of the Apache License, Version 2.0
can be found in "/usr/share/common-licenses/Apache-2.0".`,
  Unlicense: `This is free and unencumbered software released into the public domain.

Anyone is free to copy, modify, publish, use, compile, sell, or
distribute this software, either in source code form or as a compiled
binary, for any purpose, commercial or non-commercial, and by any
means.

In jurisdictions that recognize copyright laws, the author or authors
of this software dedicate any and all copyright interest in the
software to the public domain. We make this dedication for the benefit
of the public at large and to the detriment of our heirs and
successors. We intend this dedication to be an overt act of
relinquishment in perpetuity of all present and future rights to this
software under copyright law.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
IN NO EVENT SHALL THE AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR
OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE,
ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR
OTHER DEALINGS IN THE SOFTWARE.

For more information, please refer to <http://unlicense.org/>`,
};

const licenseFile = (dir) => {
  const name = readdirSync(dir).find((n) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(n));
  return name ? readFileSync(join(dir, name), 'utf8') : undefined;
};

const authorOf = (dir, name) => {
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const a = typeof meta.author === 'string' ? meta.author : meta.author?.name;
  return a ? a.trim() : `the ${name} authors`;
};

// One stanza per bundled package, in lock-file order (sorted by path).
const stanzas = [];
const licenses = new Map(); // SPDX name -> text
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (path === '' || entry.dev === true || !path.includes('node_modules/')) continue;
  const dir = join(root, path);
  if (!existsSync(dir)) continue; // optional dependency not installed on this platform
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const license = String(entry.license ?? '').trim();
  if (!/^[A-Za-z0-9.+-]+$/.test(license)) {
    throw new Error(
      `${name}: license "${license}" is not a single SPDX identifier; extend packaging/gen-copyright.mjs`,
    );
  }
  const text = licenseFile(dir);
  const lines = (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^copyright\b/i.test(l) && /(\(c\)|©|\d{4})/i.test(l))
    .map((l) => l.replace(/^copyright\s*(\(c\)|©)?\s*/i, ''));
  const holders = lines.length > 0 ? [...new Set(lines)] : [authorOf(dir, name)];
  if (!licenses.has(license)) {
    if (TEXTS[license]) licenses.set(license, TEXTS[license]);
    else if (text) licenses.set(license, text.trim());
    else
      throw new Error(
        `${name}: no LICENSE file and no built-in text for ${license}; extend packaging/gen-copyright.mjs`,
      );
  }
  stanzas.push({ name, version: entry.version, license, holders });
}

const own = String(pkg.license ?? '');
if (!TEXTS[own]) throw new Error(`package.json license "${own}" has no built-in text in packaging/gen-copyright.mjs`);
if (!licenses.has(own)) licenses.set(own, TEXTS[own]);

// DEP-5 continuation lines: indent, and " ." for empty lines.
const block = (text) =>
  text
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l.replace(/\s+$/, '')}`))
    .join('\n');

const out = [];
out.push(
  'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
  'Upstream-Name: pgduplex',
  'Comment: /usr/lib/pgduplex/pgduplex.mjs and pgduplex-agent.mjs are esbuild',
  ' bundles of pgduplex and of the npm packages listed below (the production',
  ' dependencies recorded in package-lock.json).',
  '',
  'Files: *',
  `Copyright: ${year} pgduplex maintainers`,
  `License: ${own}`,
);
for (const s of stanzas) {
  out.push(
    '',
    `Files: node_modules/${s.name}/*`,
    `Copyright: ${s.holders.join('\n ')}`,
    `License: ${s.license}`,
    `Comment: npm package ${s.name} ${s.version}, bundled.`,
  );
}
for (const [name, text] of [...licenses].sort(([a], [b]) => a.localeCompare(b))) {
  out.push('', `License: ${name}`, block(text));
}
process.stdout.write(`${out.join('\n')}\n`);
