#!/usr/bin/env node
// Times Hugging Face's tokenizers (the Rust library through its npm binding,
// the same code Python's fast tokenizers run) on the inputs of
// //text/tokenizer:tokenizer_benchmark: 900 report sentences with the BERT
// uncased vocabulary (truncation + padding to 256) and 60 MaMA captions with
// GPT-2 + MaMA tokens (144). Prints "<case> <sentences per second>" per line.
// The thread count comes from RAYON_NUM_THREADS (set by tools/bench/text_bench.sh).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const npmDir = process.env.MAMMOVL_NPM_DIR || path.join(os.homedir(), '.cache/mammovl/npm');
const { Tokenizer } = require(path.join(npmDir, 'node_modules/tokenizers'));
const { bertJson } = require('../fixtures/make_tokenizer_fixtures.js');
const data = path.join(__dirname, '../../text/tokenizer/testdata');

const corpus = fs.readFileSync(path.join(data, 'corpus.jsonl'), 'utf8').split('\n')
  .filter((l) => l.length).map((l) => JSON.parse(l));
const vocab = fs.readFileSync(path.join(data, 'bert_uncased_vocab.txt'), 'utf8').split('\n');
vocab.pop();

async function time(name, tokenizer, texts) {
  for (let i = 0; i < 3; ++i) await tokenizer.encodeBatch(texts);  // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 2.0) {
    await tokenizer.encodeBatch(texts);
    n += texts.length;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  console.log(`${name} ${(n / elapsed).toFixed(0)}`);
}

async function main() {
  const bert = Tokenizer.fromString(JSON.stringify(bertJson(vocab, true)));
  bert.setTruncation(256);
  bert.setPadding({ maxLength: 256, padId: 0, padToken: '[PAD]' });
  await time('BM_BertEncode', bert, corpus.slice(90, 990));
  const gpt2 = Tokenizer.fromFile(path.join(data, 'gpt2_mama_tokenizer.json'));
  gpt2.setTruncation(144);
  gpt2.setPadding({ maxLength: 144, padId: gpt2.tokenToId('<|padtext|>'), padToken: '<|padtext|>' });
  await time('BM_Gpt2MamaEncode', gpt2, corpus.slice(990, 1050));
}

main();
