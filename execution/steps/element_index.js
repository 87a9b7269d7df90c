/*
 * The element index of DESIGN.md "Element index", evaluated in the page by
 * execution/steps/element_index.py.
 *
 * Index i (0-based) is the i-th element of a pre-order walk of the page that is both
 * interactive and visible. The walk enters an element's open shadow root before its light
 * children, and descends into same-origin iframes at the iframe's place.
 *
 * The whole file is one function taking a request {op, ...}:
 *   resolve  {index, attribute, nonce}  tag the index-th element (and the iframes around it)
 *                                       with attribute=nonce: {found: true, depth, facts}, or
 *                                       {found: false, count} when the index is out of range
 *   describe {element, attribute?, nonce?}  the facts of one element (tagged when asked)
 *   list     {}                         {description, tag} of every indexed element, in order
 *   untag    {attribute}                remove every tag from the page
 * Facts: {description, tag, fillable, secret, selectors}; `selectors` are readable selectors that
 * should match only this element, best first (Python checks them against the tag).
 */
(request) => {
  // The ARIA widget roles a person can act on; composite containers (listbox, menu, grid)
  // are left out because their items are what gets clicked.
  const WIDGET_ROLES = new Set([
    'button', 'checkbox', 'combobox', 'gridcell', 'link', 'menuitem', 'menuitemcheckbox',
    'menuitemradio', 'option', 'radio', 'searchbox', 'slider', 'spinbutton', 'switch', 'tab',
    'textbox', 'treeitem',
  ]);
  // The input types Playwright's fill() accepts; any other element gets click + typing.
  const FILLABLE_INPUTS = new Set([
    '', 'text', 'email', 'number', 'password', 'search', 'tel', 'url', 'color', 'date',
    'time', 'datetime-local', 'month', 'range', 'week',
  ]);
  const FRAME_SEPARATOR = ' >> internal:control=enter-frame >> ';

  const frameDocument = (element) => {
    if (element.localName !== 'iframe' && element.localName !== 'frame') return null;
    try {
      return element.contentDocument; // null when the frame is cross-origin
    } catch {
      return null;
    }
  };

  const isVisible = (element) => {
    const view = element.ownerDocument.defaultView;
    const style = view.getComputedStyle(element);
    if (style.display === 'none' || style.visibility === 'hidden') return false;
    if (style.visibility === 'collapse' || Number.parseFloat(style.opacity) === 0) return false;
    // checkVisibility() sees display:none and opacity:0 on ancestors in the flat tree
    // (through shadow roots and slots), which the element's own style does not show.
    const checks = {
      opacityProperty: true, visibilityProperty: true, checkOpacity: true,
      checkVisibilityCSS: true,
    };
    if (element.checkVisibility && !element.checkVisibility(checks)) return false;
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };

  const isInteractive = (element) => {
    const tag = element.localName;
    if (tag === 'a' && element.hasAttribute('href')) return true;
    if (['button', 'select', 'textarea', 'summary', 'option'].includes(tag)) return true;
    if (tag === 'input') return element.type !== 'hidden';
    const role = (element.getAttribute('role') || '').trim().split(/\s+/)[0].toLowerCase();
    if (WIDGET_ROLES.has(role)) return true;
    if (element.isContentEditable) {
      // Only the outermost editable element: its editable children are the same editor.
      const parent = element.parentElement;
      if (!parent || !parent.isContentEditable) return true;
    }
    if (element.hasAttribute('onclick')) return true;
    return element.hasAttribute('tabindex') && element.tabIndex >= 0;
  };

  const isIndexed = (element, state) =>
    !state.excluded &&
    !state.ariaDisabled &&
    isInteractive(element) &&
    !element.matches(':disabled') &&
    isVisible(element);

  // Pre-order over every element; `visit(element, frames, state)` returns true to stop.
  // `frames` are the iframe elements around the element, outermost first; `state` says
  // whether an ancestor (across shadow roots and frames) is aria-hidden/inert or
  // aria-disabled.
  const walk = (visit) => {
    const enter = (element, frames, inherited) => {
      const state = {
        excluded:
          inherited.excluded ||
          element.getAttribute('aria-hidden') === 'true' ||
          element.hasAttribute('inert'),
        ariaDisabled: inherited.ariaDisabled || element.getAttribute('aria-disabled') === 'true',
      };
      if (visit(element, frames, state)) return true;
      if (element.shadowRoot) {
        for (const child of element.shadowRoot.children) {
          if (enter(child, frames, state)) return true;
        }
      }
      const inner = frameDocument(element);
      if (inner && inner.documentElement && isVisible(element)) {
        if (enter(inner.documentElement, [...frames, element], state)) return true;
      }
      for (const child of element.children) {
        if (enter(child, frames, state)) return true;
      }
      return false;
    };
    enter(document.documentElement, [], { excluded: false, ariaDisabled: false });
  };

  const squash = (text) => (text || '').replace(/\s+/g, ' ').trim();
  const clip = (text) => (text.length > 40 ? `${text.slice(0, 39)}…` : text);

  const kindOf = (element) => {
    const role = (element.getAttribute('role') || '').trim().split(/\s+/)[0].toLowerCase();
    if (role) return role;
    const tag = element.localName;
    if (tag === 'a') return 'link';
    if (tag === 'input') {
      const type = element.type;
      if (['button', 'submit', 'reset', 'image'].includes(type)) return 'button';
      if (['checkbox', 'radio'].includes(type)) return type;
      return `${type} input`;
    }
    if (element.isContentEditable) return 'editable';
    return tag;
  };

  const nameOf = (element) => {
    const label = squash(element.getAttribute('aria-label'));
    if (label) return label;
    const labelledBy = (element.getAttribute('aria-labelledby') || '').split(/\s+/);
    const root = element.getRootNode();
    const byIds = squash(
      labelledBy.map((id) => (id && root.getElementById?.(id)?.textContent) || '').join(' '),
    );
    if (byIds) return byIds;
    if (element.labels && element.labels.length) {
      const text = squash(element.labels[0].innerText);
      if (text) return text;
    }
    const tag = element.localName;
    if (tag === 'input' && ['button', 'submit', 'reset'].includes(element.type)) {
      return squash(element.value);
    }
    if (tag === 'input' || tag === 'textarea') {
      return squash(element.placeholder) || squash(element.title) || squash(element.name);
    }
    if (tag !== 'select') {
      const text = squash(element.innerText ?? element.textContent);
      if (text) return text;
    }
    const image = element.querySelector('img[alt]');
    const alt = image ? image.alt : '';
    return squash(element.title) || squash(alt) || squash(element.getAttribute('name'));
  };

  const describe = (element) => {
    const name = nameOf(element);
    return name ? `${kindOf(element)} '${clip(name)}'` : kindOf(element);
  };

  const isFillable = (element) => {
    const tag = element.localName;
    if (tag === 'textarea' || element.isContentEditable) return true;
    return tag === 'input' && FILLABLE_INPUTS.has(element.type);
  };

  // --- Readable selectors ---------------------------------------------------------------

  const cssString = (value) =>
    `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\a ')}"`;

  // Playwright's CSS engine looks through open shadow roots, so a selector is unique only
  // if it matches once in the scope and in every shadow root inside it.
  const rootsIn = (scope) => {
    const roots = [scope];
    for (const element of scope.querySelectorAll('*')) {
      if (element.shadowRoot) roots.push(...rootsIn(element.shadowRoot));
    }
    return roots;
  };

  // How often a selector matches where Playwright would look for this element: the whole
  // document, or (after `host >>`) the host's light subtree and its shadow root.
  const counterFor = (root) => {
    const roots = root.host ? [...rootsIn(root), ...rootsIn(root.host)] : rootsIn(root);
    return (selector) =>
      roots.reduce((sum, scope) => sum + scope.querySelectorAll(selector).length, 0);
  };

  const segment = (element) => {
    const tag = CSS.escape(element.localName);
    const parent = element.parentElement || element.parentNode;
    if (!parent) return tag;
    const same = [...parent.children].filter((child) => child.localName === element.localName);
    return same.length > 1 ? `${tag}:nth-of-type(${same.indexOf(element) + 1})` : tag;
  };

  // Candidates inside the element's own document or shadow root: #id, tag[name=...], the
  // shortest unique CSS path (anchored at an ancestor's unique id when there is one), and
  // the path from the top of the root as the last resort.
  const localCandidates = (element) => {
    const count = counterFor(element.getRootNode());
    const candidates = [];
    const add = (selector) => {
      if (!candidates.includes(selector)) candidates.push(selector);
    };
    const idOf = (node) => (node.id ? `#${CSS.escape(node.id)}` : null);
    const id = idOf(element);
    if (id && count(id) === 1) add(id);
    const name = element.getAttribute('name');
    if (name) {
      const byName = `${CSS.escape(element.localName)}[name=${cssString(name)}]`;
      if (count(byName) === 1) add(byName);
    }
    const path = [];
    for (let node = element; node; node = node.parentElement) {
      const anchor = node !== element ? idOf(node) : null;
      if (anchor && count(anchor) === 1) {
        // Every step below a unique anchor is a `>` child with its position, so unique.
        add([anchor, ...path].join(' > '));
        break;
      }
      path.unshift(segment(node));
      const selector = path.join(' > ');
      if (!node.parentElement || count(selector) === 1) {
        add(selector);
        if (node.parentElement) break;
      }
    }
    return candidates;
  };

  const combine = (levels, separator) => {
    const best = levels.map((level) => level[0]).join(separator);
    const last = levels.map((level) => level[level.length - 1]).join(separator);
    return best === last ? [best] : [best, last];
  };

  // Candidates within the element's document: each shadow host outward, joined by `>>`.
  const documentCandidates = (element) => {
    const levels = [];
    for (let node = element; node; node = node.getRootNode().host || null) {
      levels.unshift(localCandidates(node));
    }
    return combine(levels, ' >> ');
  };

  const facts = (element, frames) => ({
    description: describe(element),
    tag: element.localName,
    fillable: isFillable(element),
    secret: element.localName === 'input' && element.type === 'password',
    selectors: combine([...frames, element].map(documentCandidates), FRAME_SEPARATOR),
  });

  // --- Operations -----------------------------------------------------------------------

  if (request.op === 'resolve') {
    let count = 0;
    let found = null;
    walk((element, frames, state) => {
      if (!isIndexed(element, state)) return false;
      if (count === request.index) found = { element, frames };
      count += 1;
      return found !== null;
    });
    if (!found) return { found: false, count };
    for (const node of [...found.frames, found.element]) {
      node.setAttribute(request.attribute, request.nonce);
    }
    return { found: true, depth: found.frames.length, facts: facts(found.element, found.frames) };
  }
  if (request.op === 'describe') {
    if (request.nonce) request.element.setAttribute(request.attribute, request.nonce);
    return facts(request.element, []);
  }
  if (request.op === 'list') {
    const all = [];
    walk((element, frames, state) => {
      // No selectors here: checking each one's uniqueness would cost a page walk apiece.
      if (isIndexed(element, state)) {
        all.push({ description: describe(element), tag: element.localName });
      }
      return false;
    });
    return all;
  }
  if (request.op === 'untag') {
    walk((element) => {
      element.removeAttribute(request.attribute);
      return false;
    });
    return null;
  }
  throw new Error(`Unknown element index operation: ${request.op}`);
}
