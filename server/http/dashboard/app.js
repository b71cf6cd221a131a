// The dashboard's entry point: a hash router (#/instances, #/instance/{id},
// #/entities, #/entity/{name}/{key}), the bearer-token field and the banner.
import * as api from "./api.js";
import { renderList } from "./list.js";
import { renderInstance } from "./instance.js";
import { renderEntities, renderEntity } from "./entities.js";

const view = document.getElementById("view");
const banner = document.getElementById("banner");
let cleanup = null;

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  const hash = location.hash.replace(/^#/, "") || "/instances";
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let section = "instances";
  if (parts[0] === "instance" && parts.length >= 2) {
    cleanup = renderInstance(view, parts.slice(1).join("/"));
  } else if (parts[0] === "entities") {
    section = "entities";
    cleanup = renderEntities(view, params);
  } else if (parts[0] === "entity" && parts.length >= 3) {
    section = "entities";
    cleanup = renderEntity(view, parts[1], parts.slice(2).join("/"));
  } else {
    cleanup = renderList(view, params);
  }
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", a.dataset.nav === section);
  }
  window.scrollTo(0, 0);
}

function showBanner(text) {
  banner.textContent = text;
  banner.hidden = !text;
}

function setupToken() {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const clearBtn = document.getElementById("token-clear");
  const mark = () => form.classList.toggle("has-token", !!api.token());
  input.value = api.token();
  mark();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    api.setToken(input.value.trim());
    mark();
    showBanner("");
    route();
  });
  clearBtn.addEventListener("click", () => {
    input.value = "";
    api.setToken("");
    mark();
    route();
  });
  api.onAuthError((status) => {
    showBanner(status === 401
      ? "This server requires a bearer token: enter one of its --auth-tokens above."
      : "The token is not allowed to do this (its role is too low).");
    if (status === 401) input.focus();
  });
}

setupToken();
window.addEventListener("hashchange", route);
route();
