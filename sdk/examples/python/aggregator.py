"""Aggregator (durable entity): a counter updated by many one-way signals from the client,
processed one at a time in arrival order, then read by an orchestration (an entity call,
queued behind the signals) and by the client.

Run: python sdk/examples/python/aggregator.py [--address localhost:4001] [--signals 100]
"""

from durabletask import task
from durabletask.entities import EntityContext, EntityInstanceId

from _common import finish, main, new_id, parse_args, run_to_completion, worker_and_client


def counter(ctx: EntityContext, amount):
    """Operations: add (input: amount), get, reset."""
    value = ctx.get_state(int, 0)
    if ctx.operation == "add":
        value += amount
        ctx.set_state(value)
    elif ctx.operation == "reset":
        ctx.set_state(None)
        value = 0
    elif ctx.operation != "get":
        raise ValueError(f"unknown counter operation {ctx.operation!r}")
    return value


def read_counter(ctx: task.OrchestrationContext, key: str):
    return (yield ctx.call_entity(EntityInstanceId("counter", key), "get"))


def run() -> int:
    args = parse_args("aggregator with a durable entity",
                      lambda p: p.add_argument("--signals", type=int, default=100))
    key = new_id("sample")
    entity = EntityInstanceId("counter", key)
    with worker_and_client(args.address, orchestrators=[read_counter], entities=[counter]) as c:
        for i in range(1, args.signals + 1):
            c.signal_entity(entity, "add", input=i)
        print(f"sent {args.signals} signals to {entity}", flush=True)
        by_orchestration = run_to_completion(c, read_counter, key, timeout=args.timeout)
        meta = c.get_entity(entity)
        by_client = meta.get_state(int) if meta is not None else None
    total = args.signals * (args.signals + 1) // 2
    return finish({"signals": args.signals, "read_by_orchestration": by_orchestration,
                   "read_by_client": by_client},
                  {"signals": args.signals, "read_by_orchestration": total, "read_by_client": total})


if __name__ == "__main__":
    main(run)
