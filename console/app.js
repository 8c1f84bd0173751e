// The incident console: sign in with an admin token, then the views. Loaded as a module from this
// origin only (the Content-Security-Policy allows nothing else), and builds the page with text only.
import { ApiError, call, signedIn, signIn, signOut } from './api.js'
import { setUpApplyDialog } from './apply-dialog.js'
import { onRevocationsChanged, setUpDialogs } from './dialogs.js'
import { alertError, announce, byId, clearMessages } from './dom.js'
import { setUpInventory } from './inventory-view.js'
import { refreshLedger, searchLedger, setUpLedger } from './ledger-view.js'
import { loadReport, setUpReport } from './report-view.js'
import { refreshRevocations, setUpRevocations, stopWatching } from './revocations-view.js'

const VIEWS = ['ledger', 'revocations', 'inventory', 'report']

function show(view, { focus = true } = {}) {
  for (const name of VIEWS) {
    byId(`${name}-view`).hidden = name !== view
    const tab = document.querySelector(`[data-view="${name}"]`)
    if (name === view) tab.setAttribute('aria-current', 'page')
    else tab.removeAttribute('aria-current')
  }
  if (view === 'revocations') void refreshRevocations()
  if (view === 'report') void loadReport()
  if (focus) byId(`${view}-title`).focus()
}

async function enter(token) {
  signIn(token)
  try {
    // Any admin call tells a token the service knows from one it does not; the roles are checked per view.
    await call('GET', '/v1/ledger?limit=1')
  } catch (error) {
    // 403: a token the service knows, without ledger:read; each view says what its roles refuse.
    if (!(error instanceof ApiError && error.status === 403)) {
      signOut()
      alertError(`Not signed in: ${error.message}`)
      return
    }
  }
  byId('sign-in-view').hidden = true
  byId('workspace').hidden = false
  byId('session').hidden = false
  announce('Signed in.')
  show('ledger')
}

function leave() {
  stopWatching()
  signOut()
  byId('workspace').hidden = true
  byId('session').hidden = true
  byId('sign-in-view').hidden = false
  clearMessages()
  announce('Signed out: the token is forgotten.')
  byId('admin-token').focus()
}

function setUp() {
  setUpDialogs()
  setUpApplyDialog()
  setUpReport()
  setUpLedger()
  setUpRevocations()
  setUpInventory({
    showLedger: (filters) => {
      show('ledger', { focus: false })
      void searchLedger(filters).then(() => byId('ledger-title').focus())
    },
  })
  onRevocationsChanged(() => {
    void refreshRevocations()
    void refreshLedger()
  })
  byId('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const input = byId('admin-token')
    const token = input.value.trim()
    // The field is emptied at once: the token is kept in the API module only.
    input.value = ''
    if (token !== '') void enter(token)
  })
  byId('sign-out').addEventListener('click', leave)
  for (const tab of document.querySelectorAll('[data-view]')) {
    tab.addEventListener('click', () => {
      if (signedIn()) show(tab.dataset.view)
    })
  }
}

setUp()
