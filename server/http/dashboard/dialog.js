// A confirmation dialog (the page's one <dialog>) for every action that changes
// an instance or an entity. The action runs on "Confirm"; its error stays in the
// dialog so the user can correct the input.
import { el, clear } from "./util.js";

/**
 * opts: {title, text, ok: "Terminate", danger: true, fields: [{name, label, value,
 * placeholder, kind: "text"|"json"|"checkbox"}], run: async (values) => any}.
 * Resolves to true once `run` succeeded, false when cancelled.
 */
export function confirmAction(opts) {
  const dlg = document.getElementById("confirm");
  const form = document.getElementById("confirm-form");
  const okBtn = document.getElementById("confirm-ok");
  const err = document.getElementById("confirm-error");
  document.getElementById("confirm-title").textContent = opts.title;
  document.getElementById("confirm-text").textContent = opts.text || "";
  const fields = clear(document.getElementById("confirm-fields"));
  const inputs = {};
  for (const f of opts.fields || []) {
    let input;
    if (f.kind === "json") {
      input = el("textarea", { name: f.name, rows: 4, placeholder: f.placeholder || "", spellcheck: "false" });
      input.value = f.value ?? "";
    } else if (f.kind === "checkbox") {
      input = el("input", { type: "checkbox", name: f.name, checked: !!f.value });
    } else {
      input = el("input", { type: "text", name: f.name, placeholder: f.placeholder || "",
        required: f.required ? true : null });
      input.value = f.value ?? "";
    }
    inputs[f.name] = { input, f };
    fields.append(el(`label.field${f.kind === "checkbox" ? ".check" : ""}`,
      f.kind === "checkbox" ? [input, el("span", f.label)] : [el("span", f.label), input]));
  }
  okBtn.textContent = opts.ok || "Confirm";
  okBtn.className = `btn ${opts.danger ? "danger" : "primary"}`;
  err.hidden = true;
  okBtn.disabled = false;

  return new Promise((resolve) => {
    const values = () => {
      const v = {};
      for (const [name, { input, f }] of Object.entries(inputs)) {
        if (f.kind === "checkbox") v[name] = input.checked;
        else if (f.kind === "json") {
          const text = input.value.trim();
          if (text === "") v[name] = undefined;
          else {
            try {
              v[name] = JSON.parse(text);
            } catch (e) {
              throw new Error(`${f.label}: not valid JSON (${e.message})`);
            }
          }
        } else v[name] = input.value.trim();
      }
      return v;
    };
    const onSubmit = async (e) => {
      if (e.submitter && e.submitter.value === "cancel") return; // closes with "cancel"
      e.preventDefault();
      okBtn.disabled = true;
      err.hidden = true;
      try {
        await opts.run(values());
        cleanup();
        dlg.close("done");
        resolve(true);
      } catch (ex) {
        err.textContent = ex.message;
        err.hidden = false;
        okBtn.disabled = false;
      }
    };
    const onClose = () => {
      cleanup();
      resolve(dlg.returnValue === "done");
    };
    const cleanup = () => {
      form.removeEventListener("submit", onSubmit);
      dlg.removeEventListener("close", onClose);
    };
    form.addEventListener("submit", onSubmit);
    dlg.addEventListener("close", onClose);
    dlg.returnValue = "";
    dlg.showModal();
    const first = Object.values(inputs)[0];
    (first ? first.input : okBtn).focus();
  });
}
