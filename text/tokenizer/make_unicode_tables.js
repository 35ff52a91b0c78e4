#!/usr/bin/env node
// Writes text/tokenizer/unicode_tables.inc: the character classes and
// mappings that Hugging Face `tokenizers` (the Rust library, through its Node
// binding pinned in tools/setup/npm) applies, measured by probing that library
// one code point at a time.
//
// Why probe instead of reading the Unicode Character Database: the Rust
// library mixes Unicode versions. Lower-casing (Rust's `char::to_lowercase`)
// and the GPT-2 regex classes (Oniguruma's \p{L}, \p{N}, \s) follow Unicode 16,
// while the BERT normaliser's "other" (Cc/Cf/Co), non-spacing-mark and
// punctuation classes and its NFD come from crates frozen at older versions.
// Reproducing HF's output byte for byte needs exactly those sets.
//
// Usage (after tools/setup/install_npm.sh):
//   node text/tokenizer/make_unicode_tables.js > text/tokenizer/unicode_tables.inc
// Environment: MAMMOVL_NPM_DIR (default ~/.cache/mammovl/npm).
'use strict';
const path = require('path');
const os = require('os');

const npmDir = process.env.MAMMOVL_NPM_DIR || path.join(os.homedir(), '.cache/mammovl/npm');
const tk = require(path.join(npmDir, 'node_modules/tokenizers'));
const tkVersion = require(path.join(npmDir, 'node_modules/tokenizers/package.json')).version;

const kMaxCodePoint = 0x10ffff;
const isSurrogate = (c) => c >= 0xd800 && c <= 0xdfff;
const chr = (c) => String.fromCodePoint(c);
const cps = (s) => [...s].map((x) => x.codePointAt(0));

const cleanNorm = tk.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
const stripNorm = tk.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
const lower = tk.lowercase();
const nfd = tk.nfdNormalizer();
const bertPre = tk.bertPreTokenizer();
const byteLevel = tk.byteLevelPreTokenizer(false, true);

const sets = {
  kBertControl: [], kWhitespace: [], kBertPunctuation: [], kNonspacingMark: [],
  kLetter: [], kNumber: [],
};
const regexSpace = [];
const lowercase = [];  // [cp, [mapped...]]
const decomposition = [];  // [cp, [mapped...]]
const nfdStable = new Uint8Array(kMaxCodePoint + 1);

function fail(msg) {
  process.stderr.write('make_unicode_tables: ' + msg + '\n');
  process.exit(1);
}

const hangul = (c) => c >= 0xac00 && c <= 0xd7a3;
function hangulNfd(c) {
  const s = c - 0xac00;
  const l = 0x1100 + Math.floor(s / 588), v = 0x1161 + Math.floor((s % 588) / 28), t = s % 28;
  return t ? [l, v, 0x11a7 + t] : [l, v];
}

for (let c = 0; c <= kMaxCodePoint; ++c) {
  if (isSurrogate(c)) continue;
  const s = chr(c);
  // BertNormalizer clean_text: removed, mapped to ' ', or kept.
  const cleaned = cleanNorm.normalizeString(s);
  if (cleaned === '') sets.kBertControl.push(c);
  else if (cleaned === ' ') sets.kWhitespace.push(c);
  else if (cleaned !== s) fail(`clean_text maps U+${c.toString(16)} to ${JSON.stringify(cleaned)}`);
  // BertPreTokenizer: whitespace removed, punctuation isolated.
  const pieces = bertPre.preTokenizeString('a' + s + 'b').map((p) => p[0]);
  if (pieces.length === 2 && pieces[0] === 'a' && pieces[1] === 'b') {
    if (sets.kWhitespace[sets.kWhitespace.length - 1] === c) {
      // consistent with clean_text
    } else if (sets.kBertControl[sets.kBertControl.length - 1] === c) {
      // Controls that are also White_Space (U+0085): the pre-tokenizer splits
      // on them too, even though clean_text removes them first.
      sets.kWhitespace.push(c);
    } else {
      fail(`pre-tokenizer treats U+${c.toString(16)} as whitespace but clean_text does not`);
    }
  } else if (pieces.length === 3) {
    sets.kBertPunctuation.push(c);
  } else if (pieces.length !== 1) {
    fail(`pre-tokenizer splits a U+${c.toString(16)} b into ${pieces.length}`);
  }
  // Lower-casing (Rust char::to_lowercase).
  const l = lower.normalizeString(s);
  if (l !== s) lowercase.push([c, cps(l)]);
  // NFD of one code point (full canonical decomposition).
  const d = nfd.normalizeString(s);
  if (d !== s) {
    if (hangul(c)) {
      if (JSON.stringify(cps(d)) !== JSON.stringify(hangulNfd(c))) fail(`Hangul U+${c.toString(16)}`);
    } else {
      decomposition.push([c, cps(d)]);
    }
  } else {
    nfdStable[c] = 1;
    // BertNormalizer strip_accents = NFD, then drop non-spacing marks.
    const stripped = stripNorm.normalizeString('a' + s);
    if (stripped === 'a') sets.kNonspacingMark.push(c);
    else if (stripped !== 'a' + s) fail(`strip_accents maps a U+${c.toString(16)}`);
  }
  // GPT-2 pre-tokenizer regex classes.
  const one = (t) => byteLevel.preTokenizeString(t).length === 1;
  const letter = one('a' + s), number = one('1' + s), other = one('!' + s);
  if (letter + number + other > 1) fail(`U+${c.toString(16)} in several regex classes`);
  if (letter) sets.kLetter.push(c);
  else if (number) sets.kNumber.push(c);
  else if (!other) {
    if (!one(s + s)) fail(`U+${c.toString(16)} in no regex class`);
    regexSpace.push(c);
  }
}

// Oniguruma's \s is the same White_Space set that Rust's char::is_whitespace
// uses; the C++ side keeps one table for both.
if (JSON.stringify(regexSpace) !== JSON.stringify(sets.kWhitespace)) fail('regex \\s differs from char::is_whitespace');

// Canonical combining classes, as far as the NFD implementation knows them.
// Reference marks with known classes; each probe char's class is the one
// reference value it neither sorts before nor after.
const refMarks = [
  [1, 0x334], [7, 0x93c], [8, 0x3099], [9, 0x94d], [10, 0x5b0], [11, 0x5b1], [12, 0x5b2],
  [13, 0x5b3], [14, 0x5b4], [15, 0x5b5], [16, 0x5b6], [17, 0x5b7], [18, 0x5b8], [19, 0x5b9],
  [20, 0x5bb], [21, 0x5bc], [22, 0x5bd], [23, 0x5bf], [24, 0x5c1], [25, 0x5c2], [26, 0xfb1e],
  [27, 0x64b], [28, 0x64c], [29, 0x64d], [30, 0x618], [31, 0x619], [32, 0x61a], [33, 0x651],
  [34, 0x652], [35, 0x670], [36, 0x711], [84, 0xc55], [91, 0xc56], [103, 0xe38], [107, 0xe48],
  [118, 0xeb8], [122, 0xec8], [129, 0xf71], [130, 0xf72], [132, 0xf74], [202, 0x321],
  [214, 0x1dce], [216, 0x31b], [218, 0x302a], [220, 0x316], [222, 0x59a], [224, 0x302e], [226, 0x1d16d], [228, 0x5ae],
  [230, 0x300], [232, 0x315], [233, 0x35c], [234, 0x35d], [240, 0x345],
];
const sortsFirst = (x, y) => cps(nfd.normalizeString('a' + chr(y) + chr(x)))[1] === x;
for (let i = 0; i < refMarks.length; ++i) {
  for (let j = i + 1; j < refMarks.length; ++j) {
    if (!sortsFirst(refMarks[i][1], refMarks[j][1])) {
      fail(`reference marks U+${refMarks[i][1].toString(16)} U+${refMarks[j][1].toString(16)} do not sort`);
    }
  }
}
const combiningClass = [];
for (let c = 0; c <= kMaxCodePoint; ++c) {
  if (isSurrogate(c) || !nfdStable[c]) continue;
  // Non-zero iff the lowest reference (class 1) moves before it, or it moves
  // before the second-lowest (class 7).
  if (!sortsFirst(0x334, c) && !sortsFirst(c, 0x93c)) continue;
  let found = -1;
  for (const [value, mark] of refMarks) {
    if (c === mark) { found = value; break; }
    const before = sortsFirst(c, mark), after = sortsFirst(mark, c);
    if (!before && !after) {
      if (found !== -1) fail(`U+${c.toString(16)} ties with two reference classes`);
      found = value;
    }
  }
  if (found === -1) fail(`U+${c.toString(16)} has a combining class between reference values`);
  combiningClass.push([c, found]);
}

function ranges(list) {
  const out = [];
  for (const c of list) {
    if (out.length && out[out.length - 1][1] === c - 1) out[out.length - 1][1] = c;
    else out.push([c, c]);
  }
  return out;
}
const hex = (c) => '0x' + c.toString(16).toUpperCase();
const lines = [];
lines.push('// Generated by text/tokenizer/make_unicode_tables.js from Hugging Face');
lines.push(`// tokenizers ${tkVersion} (npm); do not edit. See unicode.h for what each table means.`);
lines.push('// clang-format off');
for (const [name, list] of Object.entries(sets)) {
  const r = ranges(list);
  lines.push(`constexpr CodePointRange ${name}[] = {`);
  for (let i = 0; i < r.length; i += 6) {
    lines.push('    ' + r.slice(i, i + 6).map(([a, b]) => `{${hex(a)}, ${hex(b)}}`).join(', ') + ',');
  }
  lines.push('};');
}
function mapping(name, list, width) {
  lines.push(`constexpr CodePointMapping ${name}[] = {`);
  for (const [c, m] of list) {
    if (m.length > width) fail(`${name}: U+${c.toString(16)} maps to ${m.length} code points`);
    const padded = m.concat(Array(width - m.length).fill(0));
    lines.push(`    {${hex(c)}, ${m.length}, {${padded.map(hex).join(', ')}}},`);
  }
  lines.push('};');
}
mapping('kLowercase', lowercase, 4);
mapping('kDecomposition', decomposition, 4);
lines.push('constexpr CombiningClass kCombiningClass[] = {');
for (let i = 0; i < combiningClass.length; i += 6) {
  lines.push('    ' + combiningClass.slice(i, i + 6).map(([c, v]) => `{${hex(c)}, ${v}}`).join(', ') + ',');
}
lines.push('};');
lines.push('// clang-format on');
process.stdout.write(lines.join('\n') + '\n');
process.stderr.write(`make_unicode_tables: ${Object.entries(sets).map(([k, v]) => k + ' ' + v.length).join(', ')}, ` +
  `lowercase ${lowercase.length}, decomposition ${decomposition.length}, combining ${combiningClass.length}\n`);
