// The gallery: upload, browse, view and delete (one image or a selection), through the same API as curl.
// Everything a user typed or uploaded is written with textContent, never as HTML.
"use strict";

const $ = (selector) => document.querySelector(selector);
const MAX_UPLOAD = Number(document.body.dataset.maxUpload);
const MAX_DIRECT_UPLOAD = Number(document.body.dataset.maxDirectUpload);
const PAGE_SIZE = 30;
const VARIANT_SIZES = document.body.dataset.variantSizes.split(",").map(Number); // VARIANT_SIZES
// What a card's picture takes on screen (gallery.css: cards of 150 px or more, two a row on phones).
const CARD_SIZES = "(max-width: 480px) 50vw, 200px";
const DELETE_BATCH = 100; // POST images/delete takes 1 to 100 ids
const NAMES_SHOWN = 5; // a delete report names this many images per line, then counts the rest
const TYPES = {
  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif", webp: "image/webp",
  avif: "image/avif", heic: "image/heic", heif: "image/heic",
};

// `generation` changes whenever the grid restarts (new filters, new uploads): a page that
// arrives for an older generation is dropped instead of mixing into the new grid.
const grid = { next: null, loading: false, filters: {}, observer: null, generation: 0 };
let current = null; // the image open in the detail dialog
const selection = { last: null, deleting: false }; // last: the checkbox clicked last, where shift-click ranges start
let auth = { auth: "none" }; // GET auth.json: how this API signs users in

// --- talking to the API ------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    super(readableError(status, body));
    this.status = status;
  }
}

function readableError(status, body) {
  if (status === 401) return "Sign in first (at the top), or again: your token has expired or is not valid.";
  if (body && typeof body.error === "string") return body.error;
  if (status === 403) return "Forbidden: this API needs an API key (see “API key” at the top).";
  if (body && typeof body.message === "string") return body.message;
  if (status === 0) return "The server could not be reached.";
  return `The request failed (HTTP ${status}).`;
}

function apiUrl(path) {
  return new URL(path, document.baseURI).toString(); // relative: works under any stage prefix
}

function withKey(headers = {}) {
  const key = sessionStorage.getItem("apiKey");
  const token = sessionStorage.getItem("idToken");
  const signed = token ? { ...headers, Authorization: `Bearer ${token}` } : headers;
  return key ? { ...signed, "x-api-key": key } : signed;
}

// --- signing in (AUTH=jwt) ---------------------------------------------------------------------
// The token is kept in this tab's sessionStorage only. Its claims are read here to show who is
// signed in and which images they may delete; the API checks the signature, the page cannot.
function claims() {
  const token = sessionStorage.getItem("idToken");
  if (!token) return null;
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(payload))));
  } catch {
    return null;
  }
}

function me() {
  const found = claims();
  if (!found) return null;
  const groups = found[auth.admin_claim] || [];
  return { user: found[auth.user_claim], admin: Array.isArray(groups) && groups.includes(auth.admin_group) };
}

function mayDelete(image) {
  if (auth.auth !== "jwt") return true;
  const caller = me();
  return Boolean(caller && (caller.admin || caller.user === image.user));
}

function showSignedIn() {
  const caller = me();
  $("#who").textContent = caller ? `Signed in as ${caller.user}${caller.admin ? " (admin)" : ""}` : "";
  $("#token-form").hidden = Boolean(caller);
  $("#sign-out").hidden = !caller;
  $("#hosted-sign-in").hidden = Boolean(caller) || !auth.sign_in_url;
  const user = $("#upload-form").elements.user;
  user.readOnly = Boolean(caller);
  if (caller) user.value = caller.user;
}

function signIn(token) {
  sessionStorage.setItem("idToken", token.trim());
  showSignedIn();
  showStatus("");
  resetGrid();
}

function signOut() {
  sessionStorage.removeItem("idToken");
  $("#upload-form").elements.user.value = "";
  showSignedIn();
  resetGrid();
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function galleryUrl() {
  return new URL(".", document.baseURI).toString();
}

// The issuer's hosted page (Cognito): authorization code with PKCE, no client secret in the page.
async function hostedSignIn() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("pkce", JSON.stringify({ verifier, state }));
  const url = new URL("/oauth2/authorize", auth.sign_in_url);
  const query = { response_type: "code", client_id: auth.client_id, redirect_uri: galleryUrl(), scope: "openid profile",
                  code_challenge: challenge, code_challenge_method: "S256", state };
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  window.location.assign(url.toString());
}

async function finishHostedSignIn(params) {
  const pkce = JSON.parse(sessionStorage.getItem("pkce") || "null");
  sessionStorage.removeItem("pkce");
  history.replaceState(null, "", galleryUrl());
  if (!pkce || params.get("state") !== pkce.state) throw new Error("The sign-in did not start here; try again.");
  const response = await fetch(new URL("/oauth2/token", auth.sign_in_url), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: auth.client_id, code: params.get("code"),
                                redirect_uri: galleryUrl(), code_verifier: pkce.verifier }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.id_token) throw new Error("The sign-in failed; try again.");
  signIn(body.id_token);
}

async function setUpSignIn() {
  try {
    auth = (await call("GET", "auth.json")).body;
  } catch {
    return; // an older API without auth.json: no sign-in
  }
  if (auth.auth === "api-key") showKeySettings();
  if (auth.auth !== "jwt") return;
  $("#sign-in").hidden = false;
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (fragment.get("token")) { // the link `make token` prints; the fragment never reaches a server
    sessionStorage.setItem("idToken", fragment.get("token"));
    history.replaceState(null, "", galleryUrl());
  }
  const query = new URLSearchParams(window.location.search);
  if (query.get("code")) await finishHostedSignIn(query).catch((error) => showStatus(error.message));
  $("#token-form").addEventListener("submit", (event) => { event.preventDefault(); signIn($("#token").value); });
  $("#sign-out").addEventListener("click", signOut);
  $("#hosted-sign-in").addEventListener("click", hostedSignIn);
  showSignedIn();
}

async function call(method, path, { json, headers } = {}) {
  const init = { method, headers: withKey(headers) };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(apiUrl(path), init);
  } catch {
    throw new ApiError(0, null);
  }
  const body = await response.json().catch(() => null);
  // API Gateway's own 403 (no "error" of ours): this API wants a key, so the page offers the field.
  if (response.status === 403 && !(body && typeof body.error === "string")) showKeySettings();
  if (!response.ok) throw new ApiError(response.status, body);
  return { response, body };
}

// The API key field, only where the API needs one: auth.json says api-key, a key was typed earlier
// in this tab, or API Gateway refused a request for want of one.
function showKeySettings() {
  $("#key-settings").hidden = false;
}

// XMLHttpRequest, because fetch cannot report upload progress.
function send(url, form, onProgress, headers = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* S3 answers XML or nothing */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body || s3Error(xhr.responseText)));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, null)));
    xhr.send(form);
  });
}

function s3Error(xml) {
  const message = /<Message>([^<]*)<\/Message>/.exec(xml || "");
  return message ? { error: `S3 refused the file: ${message[1]}` } : null;
}

// --- uploading ------------------------------------------------------------------------
function uploadRow(file) {
  const row = document.createElement("li");
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute("aria-label", `Progress of ${file.name}`);
  const state = document.createElement("span");
  state.textContent = "waiting";
  row.append(name, bar, state);
  $("#uploads").append(row);
  return {
    progress: (fraction) => { bar.value = fraction; state.textContent = `${Math.round(fraction * 100)} %`; },
    done: (text) => { bar.value = 1; state.textContent = text; },
    failed: (text) => { state.textContent = text; state.className = "failed"; },
  };
}

function contentType(file) {
  return file.type || TYPES[(file.name.split(".").pop() || "").toLowerCase()] || "application/octet-stream";
}

async function uploadFile(file, meta, row) {
  if (file.size <= MAX_UPLOAD) {
    const form = new FormData();
    form.append("user", meta.user);
    form.append("description", meta.description);
    if (meta.tags) form.append("tags", meta.tags);
    form.append("file", file);
    await send(apiUrl("upload"), form, row.progress, withKey());
    return;
  }
  if (file.size > MAX_DIRECT_UPLOAD) throw new Error(`Larger than ${MAX_DIRECT_UPLOAD} bytes.`);
  // Large files go straight to S3 with a presigned POST; the API never carries their bytes.
  const { body: started } = await call("POST", "uploads", {
    json: { user: meta.user, description: meta.description, tags: meta.tags, filename: file.name,
            content_type: contentType(file), size: file.size },
  });
  const form = new FormData();
  for (const [name, value] of Object.entries(started.upload.fields)) form.append(name, value);
  form.append("file", file);
  await send(started.upload.url, form, row.progress);
  await call("POST", `uploads/${encodeURIComponent(started.id)}/complete`);
}

async function uploadAll(event) {
  event.preventDefault();
  const files = [...$("#files").files];
  const form = new FormData($("#upload-form"));
  const meta = { user: form.get("user").trim(), description: form.get("description"), tags: form.get("tags").trim() };
  if (!files.length) return showStatus("Choose or drop one or more images first.");
  showStatus("");
  const results = await Promise.allSettled(files.map(async (file) => {
    const row = uploadRow(file);
    try {
      await uploadFile(file, meta, row);
      row.done("uploaded");
    } catch (error) {
      row.failed(error.message);
      throw error;
    }
  }));
  $("#files").value = "";
  const failed = results.filter((result) => result.status === "rejected").length;
  if (failed) showStatus(`${failed} of ${files.length} uploads failed; see the list above.`);
  else showStatus(`${files.length} uploaded.`, true);
  resetGrid();
}

function setUpDropzone() {
  const zone = $("#dropzone");
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); $("#files").click(); }
  });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    $("#files").files = event.dataTransfer.files;
  });
}

// --- the grid ---------------------------------------------------------------------------
function listUrl() {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (needsCredentials()) query.set("thumbnails", "1"); // showPicture() uses them only then
  for (const [name, value] of Object.entries(grid.filters)) if (value) query.set(name, value);
  return `list?${query}`;
}

function nextLink(response) {
  const match = /<([^>]*)>;\s*rel="next"/.exec(response.headers.get("Link") || "");
  return match ? new URL(match[1], response.url).toString() : null;
}

function card(image) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "card";
  button.dataset.id = image.id;
  const img = document.createElement("img");
  img.alt = image.original_name;
  img.loading = "lazy";
  img.decoding = "async";
  showPicture(img, image);
  const caption = document.createElement("span");
  caption.className = "caption";
  caption.textContent = image.original_name;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = image.tags.length ? `${image.user} · ${image.tags.join(", ")}` : image.user;
  button.append(img, caption, who);
  button.addEventListener("click", () => openDetail(image.id));
  // The checkbox is the card's sibling, not inside it: a <button> may not hold other controls.
  if (mayDelete(image)) item.append(picker(image));
  item.append(button);
  return item;
}

function picker(image) {
  const label = document.createElement("label");
  label.className = "pick";
  const box = document.createElement("input");
  box.type = "checkbox";
  box.value = image.id;
  box.dataset.name = image.original_name;
  box.setAttribute("aria-label", `Select ${image.original_name}`);
  label.append(box);
  return label;
}

// Whether API requests need what this tab holds (an API key, a token): an <img> cannot send them.
function needsCredentials() {
  return auth.auth !== "none" || Boolean(sessionStorage.getItem("apiKey") || sessionStorage.getItem("idToken"));
}

// A card's picture: variants in the widths the browser needs (srcset), in the best format it
// accepts (format=auto); where requests need credentials, the presigned thumbnail instead.
function showPicture(img, image) {
  if (image.status !== "ready") return;
  if (needsCredentials() || !VARIANT_SIZES.length) {
    if (image.thumbnail_url) img.src = image.thumbnail_url;
    return;
  }
  // Square, as the card shows it (gallery.css: aspect-ratio 1, object-fit cover): no pixel is sent to be cropped.
  const variant = (side) => apiUrl(`images/${encodeURIComponent(image.id)}/variant?w=${side}&h=${side}&fit=cover&format=auto`);
  img.srcset = VARIANT_SIZES.map((width) => `${variant(width)} ${width}w`).join(", ");
  img.sizes = CARD_SIZES;
  img.src = variant(VARIANT_SIZES.find((width) => width >= 256) || VARIANT_SIZES[VARIANT_SIZES.length - 1]);
}

async function loadMore() {
  if (grid.loading || grid.next === null) return;
  const generation = grid.generation;
  grid.loading = true;
  try {
    const { response, body } = await call("GET", grid.next);
    if (generation !== grid.generation) return;
    $("#grid").append(...body.map(card));
    showSelection();
    grid.next = nextLink(response);
    if (!$("#grid").children.length) $("#sentinel").textContent = "No images yet.";
    else $("#sentinel").textContent = grid.next ? "Loading…" : "That is all.";
  } catch (error) {
    if (generation !== grid.generation) return;
    showStatus(error.message);
    grid.next = null;
    $("#sentinel").textContent = "";
  } finally {
    if (generation === grid.generation) grid.loading = false;
  }
  if (grid.next && isVisible($("#sentinel"))) loadMore(); // the page did not fill the screen
}

function isVisible(element) {
  const box = element.getBoundingClientRect();
  return box.top < window.innerHeight && box.bottom >= 0;
}

function resetGrid() {
  grid.generation += 1;
  grid.loading = false;
  const form = new FormData($("#filters"));
  grid.filters = { user: form.get("user").trim(), tag: form.get("tag").trim() };
  grid.next = listUrl();
  $("#grid").replaceChildren();
  showSelection();
  $("#sentinel").textContent = "Loading…";
  loadMore();
}

// --- one image ------------------------------------------------------------------------------
function metaRow(list, label, value) {
  const term = document.createElement("dt");
  term.textContent = label;
  const detail = document.createElement("dd");
  detail.textContent = value;
  list.append(term, detail);
}

async function openDetail(id) {
  try {
    const { body: image } = await call("GET", `view/${encodeURIComponent(id)}`);
    current = image;
    $("#detail-title").textContent = image.original_name;
    $("#detail-image").src = image.url || "";
    $("#detail-image").alt = image.original_name;
    const meta = $("#detail-meta");
    meta.replaceChildren();
    metaRow(meta, "User", image.user);
    metaRow(meta, "Description", image.description || "—");
    metaRow(meta, "Tags", image.tags.join(", ") || "—");
    metaRow(meta, "Size", `${image.width} × ${image.height} px, ${(image.size / 1024).toFixed(1)} KiB`);
    metaRow(meta, "Type", image.content_type);
    metaRow(meta, "Uploaded", new Date(image.created_at * 1000).toLocaleString());
    $("#delete").hidden = !mayDelete(image);
    $("#detail-status").textContent = "";
    $("#detail").showModal();
  } catch (error) {
    showStatus(error.message);
  }
}

async function download() {
  try {
    const { body: image } = await call("GET", `view/${encodeURIComponent(current.id)}?download=1`);
    const link = document.createElement("a");
    link.href = image.url; // S3 answers with Content-Disposition: attachment
    link.download = image.original_name;
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    $("#detail-status").textContent = error.message;
  }
}

async function remove() {
  if (!window.confirm(`Delete “${current.original_name}”? This cannot be undone.`)) return;
  try {
    await call("DELETE", `delete/${encodeURIComponent(current.id)}`);
    document.querySelector(`.card[data-id="${CSS.escape(current.id)}"]`)?.parentElement.remove();
    showSelection(); // its card may have been selected
    $("#detail").close();
    showStatus(`Deleted “${current.original_name}”.`, true);
  } catch (error) {
    $("#detail-status").textContent = error.message;
  }
}

// --- selecting and deleting several images ---------------------------------------------------
function checkboxes() {
  return [...$("#grid").querySelectorAll(".pick input")];
}

function picked() {
  return checkboxes().filter((box) => box.checked);
}

// The checkboxes are the selection: cards that leave the grid (new filters, deletes) leave it too.
function showSelection() {
  const count = picked().length;
  $("#delete-selected").textContent = `Delete selected (${count})`;
  $("#delete-selected").disabled = count === 0 || selection.deleting;
  $("#select-none").disabled = count === 0;
  $("#select-all").disabled = checkboxes().length === 0;
}

function selectAll(checked) {
  for (const box of checkboxes()) box.checked = checked;
  selection.last = null;
  showSelection();
}

// A click on a checkbox (the box is already toggled); with Shift, every box from the one clicked
// before takes the same state, as in a file manager.
function onPick(event) {
  const box = event.target;
  if (!box.matches(".pick input")) return;
  if (event.shiftKey && selection.last?.isConnected && selection.last !== box) {
    const boxes = checkboxes();
    const [from, to] = [boxes.indexOf(selection.last), boxes.indexOf(box)].sort((a, b) => a - b);
    for (const other of boxes.slice(from, to + 1)) other.checked = box.checked;
  }
  selection.last = box;
  showSelection();
}

async function deleteSelected() {
  const boxes = picked();
  if (!boxes.length) return;
  const what = boxes.length === 1 ? `“${boxes[0].dataset.name}”` : `${boxes.length} images`;
  if (!window.confirm(`Delete ${what}? This cannot be undone.`)) return;
  selection.deleting = true;
  showSelection();
  showStatus(`Deleting ${what}…`, true);
  try {
    const outcomes = await deleteInBatches(boxes.map((box) => box.value));
    for (const box of boxes) {
      if (outcomes.get(box.value).kind !== "failed") box.closest("li").remove();
    }
    const report = deleteReport(boxes, outcomes);
    showStatus(report.text, report.ok);
  } finally {
    selection.deleting = false;
    showSelection();
  }
}

// id -> {kind: "deleted" | "gone" | "failed", error}. One request per DELETE_BATCH ids, one after the
// other. A batch that fails as a whole (network, key, timeout) leaves its cards in place and the next
// batches still try: deleting again is safe, and an image deleted meanwhile then reads as already gone.
async function deleteInBatches(ids) {
  const outcomes = new Map();
  for (let start = 0; start < ids.length; start += DELETE_BATCH) {
    const batch = ids.slice(start, start + DELETE_BATCH);
    try {
      const { body } = await call("POST", "images/delete", { json: { ids: batch } });
      for (const result of body.results) outcomes.set(result.id, outcome(result));
    } catch (error) {
      for (const id of batch) outcomes.set(id, { kind: "failed", error: error.message });
    }
  }
  for (const id of ids) {
    if (!outcomes.has(id)) outcomes.set(id, { kind: "failed", error: "the API gave no answer for this image" });
  }
  return outcomes;
}

// Each result carries the status DELETE /delete/{id} would have answered; a 404 means the image
// is not there any more (someone deleted it first), which is what the user wanted.
function outcome(result) {
  if (result.status === 200) return { kind: "deleted" };
  if (result.status === 404) return { kind: "gone" };
  return { kind: "failed", error: result.error || `${result.code || "refused"} (HTTP ${result.status})` };
}

// "2 deleted; 1 was already gone: “a.png”." and, for failures, one line per reason naming its images.
function deleteReport(boxes, outcomes) {
  const named = (kind) => boxes.filter((box) => outcomes.get(box.value).kind === kind);
  const deleted = named("deleted");
  const gone = named("gone");
  const failed = named("failed");
  const parts = [];
  if (deleted.length) parts.push(`${deleted.length} deleted`);
  if (gone.length) parts.push(`${gone.length} ${gone.length === 1 ? "was" : "were"} already gone: ${nameList(gone)}`);
  if (!failed.length) return { text: `${parts.join("; ")}.`, ok: true };
  parts.push(`${failed.length} could not be deleted:`);
  const reasons = new Map(); // error -> its boxes: a whole batch failing is one line, not a hundred
  for (const box of failed) {
    const error = outcomes.get(box.value).error;
    reasons.set(error, [...(reasons.get(error) || []), box]);
  }
  const lines = [...reasons].map(([error, same]) => `${nameList(same)}: ${error}`);
  return { text: [parts.join("; "), ...lines].join("\n"), ok: false };
}

function nameList(boxes) {
  const names = boxes.slice(0, NAMES_SHOWN).map((box) => `“${box.dataset.name}”`);
  if (boxes.length > NAMES_SHOWN) names.push(`and ${boxes.length - NAMES_SHOWN} more`);
  return names.join(", ");
}

function showStatus(text, ok = false) {
  $("#status").textContent = text;
  $("#status").classList.toggle("ok", ok);
}

// --- start --------------------------------------------------------------------------------
// Below this width the upload form starts folded, so that the first screen shows images.
const NARROW = window.matchMedia("(max-width: 640px)");

async function start() {
  if (NARROW.matches) $("#upload-panel").open = false;
  const key = $("#api-key");
  key.value = sessionStorage.getItem("apiKey") || "";
  if (key.value) showKeySettings();
  const saveKey = () => { sessionStorage.setItem("apiKey", key.value.trim()); showStatus(""); resetGrid(); };
  key.addEventListener("change", saveKey);
  $("#key-form").addEventListener("submit", (event) => { event.preventDefault(); saveKey(); });
  $("#upload-form").addEventListener("submit", uploadAll);
  $("#filters").addEventListener("submit", (event) => { event.preventDefault(); resetGrid(); });
  $("#filters").addEventListener("reset", () => setTimeout(resetGrid));
  $("#download").addEventListener("click", download);
  $("#delete").addEventListener("click", remove);
  $("#close").addEventListener("click", () => $("#detail").close());
  $("#grid").addEventListener("click", onPick);
  $("#select-all").addEventListener("click", () => selectAll(true));
  $("#select-none").addEventListener("click", () => selectAll(false));
  $("#delete-selected").addEventListener("click", deleteSelected);
  setUpDropzone();
  grid.observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) loadMore();
  });
  await setUpSignIn();
  grid.observer.observe($("#sentinel"));
  resetGrid();
}

start();
