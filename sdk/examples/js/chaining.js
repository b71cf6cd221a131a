"use strict";
// Function chaining: three activities in sequence, each one's output the next one's input.
// Run: node sdk/examples/js/chaining.js [--address localhost:4001]

const { args, withWorkerAndClient, runToCompletion, finish, main } = require("./common");

const greet = (ctx, city) => `Hello ${city}!`;

async function* greetCities(ctx, cities) {
  const greetings = [];
  for (const city of cities) {
    greetings.push(yield ctx.callActivity(greet, city)); // resumes after each activity
  }
  return greetings;
}

main(async () => {
  const a = args();
  const cities = ["Tokyo", "Seattle", "London"];
  const out = await withWorkerAndClient(a.address, (w) => {
    w.addOrchestrator(greetCities);
    w.addActivity(greet);
  }, (c) => runToCompletion(c, "greetCities", cities, a.timeout));
  return finish(out, cities.map((x) => `Hello ${x}!`));
});
