"""Fan-out/fan-in: count the words of 20 files in parallel activities, then sum.

Run: python sdk/examples/python/fan_out_fan_in.py [--address localhost:4001] [--files N]
"""

from durabletask import task

from _common import finish, main, parse_args, run_to_completion, worker_and_client


def list_files(ctx: task.ActivityContext, n: int) -> list[str]:
    return [f"file-{i:02d}.txt" for i in range(n)]


def count_words(ctx: task.ActivityContext, name: str) -> int:
    # Stands in for reading the file: file-07.txt has 8 words.
    return int(name[5:7]) + 1


def word_count(ctx: task.OrchestrationContext, n: int):
    files = yield ctx.call_activity(list_files, input=n)
    counts = yield task.when_all([ctx.call_activity(count_words, input=f) for f in files])
    return {"files": len(files), "total_words": sum(counts)}


def run() -> int:
    args = parse_args("fan-out/fan-in", lambda p: p.add_argument("--files", type=int, default=20))
    with worker_and_client(args.address, orchestrators=[word_count],
                           activities=[list_files, count_words]) as c:
        out = run_to_completion(c, word_count, args.files, timeout=args.timeout)
    return finish(out, {"files": args.files, "total_words": args.files * (args.files + 1) // 2})


if __name__ == "__main__":
    main(run)
