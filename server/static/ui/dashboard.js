// The dashboard's one script (no build step, no dependency). It keeps the API token in this
// browser's storage (never in a URL), loads the page's server-rendered part with it, keeps
// the part live over graphql-transport-ws (token in connection_init), and runs the actions.
"use strict";

(function () {
  const TOKEN_KEY = "testrun.token";
  const main = document.getElementById("content");
  const signIn = document.getElementById("sign-in");
  const signOut = document.getElementById("sign-out");
  const notice = document.getElementById("notice");
  const token = () => window.localStorage.getItem(TOKEN_KEY);
  const authorization = () => ({ Authorization: "Bearer " + token() });

  function say(message) {
    notice.textContent = message;
  }

  function askForToken(message) {
    window.localStorage.removeItem(TOKEN_KEY);
    socket.close();
    signIn.hidden = false;
    signOut.hidden = true;
    main.hidden = true;
    document.getElementById("sign-in-error").textContent = message || "";
    document.getElementById("token").focus();
  }

  signIn.addEventListener("submit", function (event) {
    event.preventDefault();
    const field = document.getElementById("token");
    const value = field.value.trim();
    if (!value) return;
    window.localStorage.setItem(TOKEN_KEY, value);
    field.value = "";
    start();
  });
  signOut.addEventListener("click", function () {
    askForToken("Signed out.");
  });

  // The server-rendered part: loaded whole at first, then only its [data-region]s are
  // replaced, keeping open <details>, the focused element and what is being typed.
  let loading = null;
  let queued = false;

  async function fetchPart() {
    const response = await fetch(main.dataset.part + window.location.search, {
      headers: authorization(),
      cache: "no-store",
    });
    if (response.status === 401) {
      askForToken("That token was refused (expired or revoked?): paste another one.");
      return null;
    }
    return response.text();
  }

  function replaceRegions(html) {
    const next = document.createElement("div");
    next.innerHTML = html;
    const open = new Set(
      Array.from(main.querySelectorAll("details[open]"), (element) => element.id),
    );
    const focused = document.activeElement && document.activeElement.id;
    const regions = next.querySelectorAll("[data-region]");
    if (!regions.length || !main.querySelector("[data-region]")) {
      main.innerHTML = html;
    }
    regions.forEach(function (region) {
      region.querySelectorAll("details").forEach(function (details) {
        details.open = open.has(details.id);
      });
      // Unchanged parts stay as they are: no image reloads, no lost focus or selection.
      const current = document.getElementById(region.id);
      if (current && current.outerHTML !== region.outerHTML) current.replaceWith(region);
    });
    const again = focused && document.getElementById(focused);
    if (again && again !== document.activeElement) again.focus();
  }

  async function refresh() {
    if (loading) {
      queued = true;
      return;
    }
    loading = fetchPart();
    try {
      const html = await loading;
      if (html !== null) replaceRegions(html);
    } catch (error) {
      say("Cannot reach the api: " + error.message);
    } finally {
      loading = null;
      if (queued) {
        queued = false;
        window.setTimeout(refresh, 200);
      }
    }
  }

  // A minimal graphql-transport-ws client: one socket, re-subscribed after a reconnect.
  const socket = {
    ws: null,
    subscriptions: new Map(),
    nextId: 1,
    closed: false,
    open() {
      this.closed = false;
      const url = window.location.origin.replace(/^http/, "ws") + "/graphql";
      const ws = new WebSocket(url, "graphql-transport-ws");
      this.ws = ws;
      ws.onopen = () => this.send({ type: "connection_init", payload: { authorization: "Bearer " + token() } });
      ws.onmessage = (event) => this.receive(JSON.parse(event.data));
      ws.onclose = (event) => {
        if (this.closed) return;
        if (event.code === 4403) {
          askForToken("That token was refused: paste another one.");
          return;
        }
        window.setTimeout(() => {
          this.open();
          refresh(); // what changed while the socket was down
        }, 1000);
      };
    },
    send(message) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
    },
    receive(message) {
      if (message.type === "connection_ack") {
        this.subscriptions.forEach((entry, id) => this.subscribeNow(id, entry));
      } else if (message.type === "ping") {
        this.send({ type: "pong" });
      } else if (message.type === "next") {
        const entry = this.subscriptions.get(message.id);
        if (entry && message.payload && message.payload.data) entry.onData(message.payload.data);
      }
    },
    subscribeNow(id, entry) {
      this.send({ id: id, type: "subscribe", payload: { query: entry.query, variables: entry.variables } });
    },
    subscribe(query, variables, onData) {
      const id = String(this.nextId++);
      this.subscriptions.set(id, { query: query, variables: variables, onData: onData });
      if (!this.ws) this.open();
    },
    close() {
      this.closed = true;
      this.subscriptions.clear();
      if (this.ws) this.ws.close();
      this.ws = null;
    },
  };

  let refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer === null) {
      refreshTimer = window.setTimeout(function () {
        refreshTimer = null;
        refresh();
      }, 150);
    }
  }

  function movePage(snapshot) {
    // Progress bars move at once; the rest follows with the refreshed part.
    (snapshot.items || []).forEach(function (item) {
      const bar = document.querySelector("#row-" + CSS.escape(item.id) + " progress");
      if (bar) {
        bar.max = Math.max(item.totalSteps, 1);
        bar.value = Math.min(item.currentStep, bar.max);
      }
    });
    refreshSoon();
  }

  function goLive() {
    const live = main.querySelector("[data-live]");
    if (!live || socket.subscriptions.size) return;
    if (live.dataset.live === "runs") {
      socket.subscribe(
        "subscription Runs($projectId: UUID!) { testRunsChanged(projectId: $projectId) { runId type } }",
        { projectId: live.dataset.projectId },
        refreshSoon,
      );
    } else if (live.dataset.live === "run") {
      socket.subscribe(
        "subscription Run($runId: UUID!) { testRunUpdates(runId: $runId) {" +
          " status eventSeq items { id status currentStep totalSteps } } }",
        { runId: live.dataset.runId },
        (data) => movePage(data.testRunUpdates),
      );
    }
  }

  // Actions: GraphQL mutations with the token; the api refuses them for viewer tokens.
  const MUTATIONS = {
    startTestRun: "mutation($id: UUID!) { startTestRun(id: $id) { run { id status } } }",
    stopTestRun: "mutation($id: UUID!) { stopTestRun(id: $id) { id status } }",
    cancelTestRun: "mutation($id: UUID!) { cancelTestRun(id: $id) { id status } }",
    rerunFailedItems: "mutation($id: UUID!) { rerunFailedItems(id: $id) { id } }",
    createTestRun:
      "mutation($input: TestRunInput!) { createTestRun(input: $input) { run { id } } }",
  };

  async function graphql(name, variables) {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json" }, authorization()),
      body: JSON.stringify({ query: MUTATIONS[name], variables: variables }),
    });
    const body = await response.json();
    if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
    return body.data;
  }

  async function act(button) {
    const action = button.dataset.action;
    button.disabled = true;
    try {
      if (action === "rerunFailedItems") {
        const rerun = await graphql(action, { id: button.dataset.runId });
        const id = rerun.rerunFailedItems.id;
        await graphql("startTestRun", { id: id });
        window.location.assign("/ui/runs/" + id);
        return;
      }
      if (action === "runTestCase") {
        const input = {
          runName: document.querySelector("h1").textContent.trim(),
          testCaseIds: [button.dataset.testCaseId],
        };
        const created = await graphql("createTestRun", { input: input });
        const id = created.createTestRun.run.id;
        await graphql("startTestRun", { id: id });
        window.location.assign("/ui/runs/" + id);
        return;
      }
      await graphql(action, { id: button.dataset.runId });
      say(button.textContent + ": done.");
      refresh();
    } catch (error) {
      say(button.textContent + " failed: " + error.message);
      button.disabled = false;
    }
  }

  main.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action]");
    if (button) act(button);
  });

  async function start() {
    if (!token()) {
      askForToken();
      return;
    }
    signIn.hidden = true;
    signOut.hidden = false;
    main.hidden = false;
    const html = await fetchPart().catch(function (error) {
      say("Cannot reach the api: " + error.message);
      return null;
    });
    if (html === null) return;
    main.innerHTML = html;
    goLive();
  }

  start();
})();
