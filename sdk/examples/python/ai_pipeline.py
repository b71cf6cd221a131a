"""AI document pipeline: extract the text of a document, classify it, summarize it (each an
activity with a retry policy: model endpoints fail transiently), then a human approves the
summary before it is published, or the document goes to manual review when nobody answers
in time. The "model" calls are deterministic local functions standing in for real endpoints;
the extraction fails on its first attempt for every document, so the retry policy is
exercised on each run.

Run: python sdk/examples/python/ai_pipeline.py [--address localhost:4001] [--wait 2]
"""

import re
import threading
from datetime import timedelta

from durabletask import task

from _common import finish, main, new_id, parse_args, wait_output, worker_and_client

MODEL_RETRY = task.RetryPolicy(first_retry_interval=timedelta(milliseconds=250),
                               max_number_of_attempts=4, backoff_coefficient=2.0,
                               max_retry_interval=timedelta(seconds=5))

DOCUMENTS = {
    "invoice": "Invoice INV-2026-17 from Contoso Ltd to Fabrikam Inc. Total 1250.00 EUR due "
               "2026-12-31. Thank you for your business.",
    "complaint": "My order 7731 arrived broken and nobody answers the phone. I want a refund "
                 "for the damaged lamp.",
}

_attempts: dict[str, int] = {}
_attempts_lock = threading.Lock()


def extract_text(ctx: task.ActivityContext, doc: dict) -> dict:
    """OCR / text extraction. Fails on the first attempt of each document (a transient
    'model timeout'); the retry policy schedules it again."""
    with _attempts_lock:
        n = _attempts[ctx.orchestration_id] = _attempts.get(ctx.orchestration_id, 0) + 1
    if n == 1:
        raise TimeoutError("extraction model timed out (transient)")
    return {"text": DOCUMENTS[doc["name"]], "attempt": n}


def classify(ctx: task.ActivityContext, text: str) -> str:
    words = set(re.findall(r"[a-z]+", text.lower()))
    if {"invoice", "total"} & words:
        return "invoice"
    if {"refund", "broken", "damaged"} & words:
        return "complaint"
    return "other"


def summarize(ctx: task.ActivityContext, inp: dict) -> str:
    first = inp["text"].split(". ")[0]
    return f"[{inp['category']}] " + " ".join(first.split()[:6])


def publish(ctx: task.ActivityContext, inp: dict) -> str:
    return f"published {inp['id']}"


def document_pipeline(ctx: task.OrchestrationContext, doc: dict):
    extracted = yield ctx.call_activity(extract_text, input=doc, retry_policy=MODEL_RETRY)
    category = yield ctx.call_activity(classify, input=extracted["text"], retry_policy=MODEL_RETRY)
    summary = yield ctx.call_activity(summarize, retry_policy=MODEL_RETRY,
                                      input={"text": extracted["text"], "category": category})
    ctx.set_custom_status({"stage": "awaiting approval", "summary": summary})
    approval = ctx.wait_for_external_event("approval")
    timeout = ctx.create_timer(timedelta(seconds=doc["approval_seconds"]))
    winner = yield task.when_any([approval, timeout])
    result = {"id": ctx.instance_id, "category": category, "summary": summary,
              "extract_attempts": extracted["attempt"]}
    if winner == approval and approval.get_result()["approved"]:
        result["outcome"] = yield ctx.call_activity(publish, input={"id": ctx.instance_id})
        result["approved_by"] = approval.get_result()["by"]
    elif winner == approval:
        result["outcome"] = "rejected"
    else:
        result["outcome"] = "manual review (no approval in time)"
    return result


def run() -> int:
    args = parse_args("AI document pipeline",
                      lambda p: p.add_argument("--wait", type=float, default=2.0,
                                               help="seconds the unapproved document waits"))
    invoice, complaint = new_id("doc-invoice"), new_id("doc-complaint")
    with worker_and_client(args.address, orchestrators=[document_pipeline],
                           activities=[extract_text, classify, summarize, publish]) as c:
        c.schedule_new_orchestration(document_pipeline, instance_id=invoice,
                                     input={"name": "invoice", "approval_seconds": 60})
        c.schedule_new_orchestration(document_pipeline, instance_id=complaint,
                                     input={"name": "complaint", "approval_seconds": args.wait})
        # The reviewer reads the summary (custom status) and approves the invoice.
        import time
        deadline = time.monotonic() + args.timeout
        while True:
            st = c.get_orchestration_state(invoice)
            if st is not None and st.serialized_custom_status:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{invoice} never asked for approval")
            time.sleep(0.1)
        print(f"{invoice} awaits approval: {st.serialized_custom_status}", flush=True)
        c.raise_orchestration_event(invoice, "approval", data={"approved": True, "by": "reviewer"})
        out = [wait_output(c, invoice, args.timeout), wait_output(c, complaint, args.timeout)]
    return finish(out, [
        {"id": invoice, "category": "invoice", "summary": "[invoice] Invoice INV-2026-17 from "
         "Contoso Ltd to", "extract_attempts": 2, "outcome": f"published {invoice}",
         "approved_by": "reviewer"},
        {"id": complaint, "category": "complaint", "summary": "[complaint] My order 7731 arrived "
         "broken and", "extract_attempts": 2, "outcome": "manual review (no approval in time)"},
    ])


if __name__ == "__main__":
    main(run)
