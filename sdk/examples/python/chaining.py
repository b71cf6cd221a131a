"""Function chaining: three activities in sequence, each one's output the next one's input.

Run: python sdk/examples/python/chaining.py [--address localhost:4001]
"""

from durabletask import task

from _common import finish, main, parse_args, run_to_completion, worker_and_client


def greet(ctx: task.ActivityContext, city: str) -> str:
    return f"Hello {city}!"


def greet_cities(ctx: task.OrchestrationContext, cities: list[str]):
    greetings = []
    for city in cities:  # one at a time: the orchestration resumes after each activity
        greetings.append((yield ctx.call_activity(greet, input=city)))
    return greetings


def run() -> int:
    args = parse_args("function chaining")
    cities = ["Tokyo", "Seattle", "London"]
    with worker_and_client(args.address, orchestrators=[greet_cities], activities=[greet]) as c:
        out = run_to_completion(c, greet_cities, cities, timeout=args.timeout)
    return finish(out, [f"Hello {x}!" for x in cities])


if __name__ == "__main__":
    main(run)
