"use strict";
// Fan-out/fan-in: count the words of 20 files in parallel activities, then sum.
// Run: node sdk/examples/js/fan_out_fan_in.js [--address localhost:4001] [--files 20]

const { whenAll } = require("@microsoft/durabletask-js");
const { args, withWorkerAndClient, runToCompletion, finish, main } = require("./common");

const listFiles = (ctx, n) => Array.from({ length: n }, (_, i) => `file-${String(i).padStart(2, "0")}.txt`);
// Stands in for reading the file: file-07.txt has 8 words.
const countWords = (ctx, name) => Number(name.slice(5, 7)) + 1;

async function* wordCount(ctx, n) {
  const files = yield ctx.callActivity(listFiles, n);
  const counts = yield whenAll(files.map((f) => ctx.callActivity(countWords, f)));
  return { files: files.length, total_words: counts.reduce((s, x) => s + x, 0) };
}

main(async () => {
  const a = args({ files: { type: "string", default: "20" } });
  const n = Number(a.files);
  const out = await withWorkerAndClient(a.address, (w) => {
    w.addOrchestrator(wordCount);
    w.addActivity(listFiles);
    w.addActivity(countWords);
  }, (c) => runToCompletion(c, "wordCount", n, a.timeout));
  return finish(out, { files: n, total_words: (n * (n + 1)) / 2 });
});
