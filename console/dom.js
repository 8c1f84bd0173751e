// Building the page with text only: nothing the API answers is ever parsed as HTML.

/** An element with attributes (`class`, `data-*`, `aria-*`...), `on*` listeners, and children (strings become text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value)
    else node.setAttribute(name, value === true ? '' : String(value))
  }
  append(node, children)
  return node
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

export function byId(id) {
  const node = document.getElementById(id)
  if (!node) throw new Error(`the page has no #${id}`)
  return node
}

export function replaceChildren(node, ...children) {
  node.replaceChildren()
  append(node, children)
}

/** Says something to everyone, screen readers included (the polite live region). */
export function announce(message) {
  byId('alert').textContent = ''
  // A change of text is what a live region announces: clear first so a repeated message is heard again.
  const status = byId('status')
  status.textContent = ''
  requestAnimationFrame(() => {
    status.textContent = message
  })
}

/** Says that something failed (the assertive live region). */
export function alertError(message) {
  byId('status').textContent = ''
  byId('alert').textContent = message
}

export function clearMessages() {
  byId('status').textContent = ''
  byId('alert').textContent = ''
}

/** An instant as `2026-11-23 12:00:00Z`: UTC, as the ledger and the logs have it. */
export function instant(iso) {
  if (typeof iso !== 'string') return ''
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`
}

/** The form's non-empty text fields, by name. */
export function formValues(form) {
  const values = {}
  for (const [name, value] of new FormData(form)) {
    if (typeof value === 'string' && value.trim() !== '') values[name] = value.trim()
  }
  return values
}
