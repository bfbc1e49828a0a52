// nicplane console: one page that talks to the native API (/v1/...).
//
// It holds no business rule: every action is one API call, and when the API
// refuses, its error `message` is shown as a notice. The role of the user in
// the current project (from GET /v1/auth/whoami) only decides which controls
// are shown; the API checks the role again on every write.
'use strict';

(() => {
  const TOKEN_KEY = 'nicplane.token';
  const PROJECT_KEY = 'nicplane.project';
  const PAGE_LIMIT = 1000;
  const ROLE_TITLES = {
    admin: 'Tenant Administrator',
    power_user: 'Tenant Power User',
    reader: 'Tenant Reader',
    cloud_admin: 'Cloud Administrator',
  };
  const KIND_TITLES = { standard: 'Standard (L3)', custom: 'Custom (L2)' };

  const $ = (id) => document.getElementById(id);

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    user: null,
    memberships: [],
    projects: [],
    dataCenters: [],
    projectId: null,
    vm: null, // the VM of the detail page (VmDetail)
    children: new Map(), // parent interface id -> supplementary interfaces
    networks: new Map(), // network id -> network of the current project
    renderSeq: 0,
    flash: null, // a notice to show after the next navigation
  };

  // ---------------------------------------------------------------- DOM --

  /** Build an element: h('td', {class: 'x', dataset: {testid: 'y'}}, 'text', child). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (key === 'class') el.className = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  function trashIcon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M9 3h6l1 2h4v2H4V5h4l1-2zm-3 6h12l-1 12H7L6 9zm4 2v8h2v-8h-2zm4 0v8h2v-8h-2z');
    path.setAttribute('fill', 'currentColor');
    svg.append(path);
    return svg;
  }

  function showView(id) {
    for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== id;
    $('topbar').hidden = id === 'login-view';
  }

  // ------------------------------------------------------------ notices --

  /** Show a message in the page ('page') or in the Edit VM dialog ('edit'). */
  function notify(where, kind, message) {
    const box = where === 'edit' ? $('edit-vm-notice') : $('notice');
    const text = where === 'edit' ? $('edit-vm-notice-text') : $('notice-text');
    box.className = `notice ${kind}`;
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    text.textContent = message;
    box.hidden = false;
  }

  function clearNotice(where) {
    (where === 'edit' ? $('edit-vm-notice') : $('notice')).hidden = true;
  }

  function where() {
    return $('edit-vm-dialog').open ? 'edit' : 'page';
  }

  // ---------------------------------------------------------------- API --

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** Call the native API; throws ApiError carrying the API's message. */
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let resp;
    try {
      resp = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (_) {
      throw new ApiError(0, 'Unreachable', 'The nicplane server could not be reached. Check that it is running and try again.');
    }
    const text = await resp.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!resp.ok) {
      const err = data && data.error;
      const message = err && typeof err.message === 'string' && err.message
        ? err.message
        : `The request failed (HTTP ${resp.status}).`;
      if (resp.status === 401 && state.token && path !== '/v1/auth/login') {
        endSession();
        state.flash = { kind: 'error', message: 'Your session has ended. Please log in again.' };
        go('#/login');
      }
      throw new ApiError(resp.status, err && err.code, message);
    }
    return data;
  }

  /** Every item of a paginated list. */
  async function listAll(path) {
    const items = [];
    let marker = null;
    do {
      const q = new URLSearchParams({ limit: String(PAGE_LIMIT) });
      if (marker) q.set('marker', marker);
      const page = await api('GET', `${path}${path.includes('?') ? '&' : '?'}${q}`);
      items.push(...page.items);
      marker = page.next_marker || null;
    } while (marker);
    return items;
  }

  const enc = encodeURIComponent;
  const projectPath = () => `/v1/projects/${enc(state.projectId)}`;

  // ------------------------------------------------------------ session --

  function endSession() {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.user = null;
    state.memberships = [];
    state.projects = [];
    state.projectId = null;
    state.vm = null;
    state.networks = new Map();
    // Drop what the previous user saw, so nothing of it lingers in hidden views.
    for (const id of ['activity-table-body', 'vm-table-body', 'quota-table-body', 'vm-actions', 'vm-summary', 'vm-interfaces-body', 'networks-by-dc', 'edit-interfaces', 'project-switcher']) {
      $(id).replaceChildren();
    }
    $('whoami').textContent = '';
    $('role-badge').textContent = '';
    if ($('edit-vm-dialog').open) $('edit-vm-dialog').close();
    if ($('confirm-dialog').open) $('confirm-dialog').close('cancel');
  }

  async function loadSession() {
    const me = await api('GET', '/v1/auth/whoami');
    const [projects, dataCenters] = await Promise.all([
      api('GET', '/v1/projects'),
      api('GET', '/v1/data-centers'),
    ]);
    state.user = me.user;
    state.memberships = me.memberships;
    state.projects = projects.slice().sort((a, b) => a.name.localeCompare(b.name));
    state.dataCenters = dataCenters;
    $('whoami').textContent = me.user.name;
  }

  function role() {
    if (state.user && state.user.is_cloud_admin) return 'cloud_admin';
    const m = state.memberships.find((x) => x.project_id === state.projectId);
    return m ? m.role : null;
  }

  const canWrite = () => ['cloud_admin', 'admin', 'power_user'].includes(role());
  const canAdminister = () => ['cloud_admin', 'admin'].includes(role());

  function dcName(id) {
    const dc = state.dataCenters.find((d) => d.id === id);
    return dc ? dc.name : id;
  }

  function fillDataCenters(select) {
    select.replaceChildren(...state.dataCenters.map((d) => h('option', { value: d.id }, d.name)));
  }

  // ------------------------------------------------------------ routing --

  /** #/login, #/p/{project}/vms, #/p/{project}/vms/{vm}, #/p/{project}/networks */
  function parseRoute() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'login') return { page: 'login' };
    if (parts[0] === 'p' && parts[1]) {
      if (parts[2] === 'networks') return { page: 'networks', project: parts[1] };
      if (parts[2] === 'activity') return { page: 'activity', project: parts[1] };
      if (parts[2] === 'vms' && parts[3]) return { page: 'vm', project: parts[1], vm: parts[3] };
      return { page: 'vms', project: parts[1] };
    }
    return { page: 'home' };
  }

  function go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  }

  const vmsHash = () => `#/p/${enc(state.projectId)}/vms`;
  const vmHash = (id) => `#/p/${enc(state.projectId)}/vms/${enc(id)}`;
  const networksHash = () => `#/p/${enc(state.projectId)}/networks`;
  const activityHash = () => `#/p/${enc(state.projectId)}/activity`;

  async function render() {
    const seq = ++state.renderSeq;
    const flash = state.flash;
    state.flash = null;
    clearNotice('page');
    if ($('edit-vm-dialog').open) $('edit-vm-dialog').close();
    const route = parseRoute();
    if (!state.token || route.page === 'login') {
      if (state.token && route.page === 'login') return go('#/');
      showLogin(flash);
      return;
    }
    try {
      if (!state.user) await loadSession();
      if (seq !== state.renderSeq) return;
      if (!state.projects.length) {
        showView('vms-view');
        $('vm-table-body').replaceChildren();
        notify('page', 'info', 'You are not a member of any project yet. Ask a Tenant Administrator to add you.');
        return;
      }
      const known = (id) => state.projects.some((p) => p.id === id);
      if (!route.project || !known(route.project)) {
        const saved = sessionStorage.getItem(PROJECT_KEY);
        state.projectId = known(saved) ? saved : state.projects[0].id;
        location.replace(vmsHash());
        return;
      }
      state.projectId = route.project;
      sessionStorage.setItem(PROJECT_KEY, state.projectId);
      renderTopbar(route.page);
      if (route.page === 'vm') await renderVm(route.vm, seq);
      else if (route.page === 'networks') await renderNetworks(seq);
      else if (route.page === 'activity') await renderActivity(seq);
      else await renderVmList(seq);
      if (flash && seq === state.renderSeq) notify('page', flash.kind, flash.message);
    } catch (e) {
      if (seq === state.renderSeq && state.token) notify('page', 'error', e.message);
    }
  }

  function renderTopbar(page) {
    const sw = $('project-switcher');
    sw.replaceChildren(...state.projects.map((p) => h('option', { value: p.id }, p.name)));
    sw.value = state.projectId;
    const r = role();
    $('role-badge').textContent = r ? ROLE_TITLES[r] || r : '';
    $('nav-vms').href = vmsHash();
    $('nav-networks').href = networksHash();
    $('nav-activity').href = activityHash();
    const current = (el, on) => (on ? el.setAttribute('aria-current', 'page') : el.removeAttribute('aria-current'));
    current($('nav-vms'), page === 'vms' || page === 'vm');
    current($('nav-networks'), page === 'networks');
    current($('nav-activity'), page === 'activity');
  }

  // -------------------------------------------------------------- login --

  function showLogin(flash) {
    showView('login-view');
    if (flash) notify('page', flash.kind, flash.message);
    $('login-username').focus();
  }

  async function onLogin(ev) {
    ev.preventDefault();
    const username = $('login-username').value.trim();
    const password = $('login-password').value;
    if (!username || !password) {
      notify('page', 'error', 'Enter your user name and password.');
      return;
    }
    const button = $('login-submit');
    button.disabled = true;
    try {
      const login = await api('POST', '/v1/auth/login', { username, password });
      state.token = login.token;
      sessionStorage.setItem(TOKEN_KEY, login.token);
      $('login-password').value = '';
      state.user = null;
      go('#/');
    } catch (e) {
      notify('page', 'error', e.message);
    } finally {
      button.disabled = false;
    }
  }

  async function onLogout() {
    try {
      await api('POST', '/v1/auth/logout');
    } catch (_) {
      // The token is dropped either way.
    }
    endSession();
    state.flash = { kind: 'success', message: 'You have logged out.' };
    go('#/login');
  }

  // ------------------------------------------------------------ helpers --

  const isV4 = (ip) => !ip.includes(':');

  /** Addresses of an interface, IPv4 first. */
  function addresses(iface) {
    const ips = iface.fixed_ips.map((f) => f.ip_address);
    return ips.filter(isV4).concat(ips.filter((ip) => !isV4(ip)));
  }

  function primaryOf(vm) {
    return vm.interfaces.find((i) => i.primary) || null;
  }

  function powerBadge(power) {
    return h('span', { class: `badge power-${power}`, dataset: { testid: 'power-state' } },
      power === 'running' ? 'Running' : power === 'stopped' ? 'Stopped' : power);
  }

  function osTitle(os) {
    return os === 'windows' ? 'Windows' : os === 'linux' ? 'Linux' : os;
  }

  function kindOf(iface) {
    const n = state.networks.get(iface.network_id);
    return n ? n.kind : null;
  }

  function formatCount(s) {
    try {
      return BigInt(s).toLocaleString('en-US');
    } catch (_) {
      return String(s);
    }
  }

  /** Run an action with its button disabled; report the API's refusal. */
  async function act(button, fn) {
    const place = where();
    if (button) button.disabled = true;
    clearNotice(place);
    try {
      await fn();
    } catch (e) {
      notify(place, 'error', e.message);
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  }

  // ---------------------------------------------------------- confirm ---

  let confirmResolve = null;

  /** Ask before a destructive action; resolves to true when confirmed. */
  function confirmAction({ title, message, ok }) {
    const d = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-message').textContent = message;
    $('confirm-ok').textContent = ok;
    d.returnValue = '';
    d.showModal();
    $('confirm-cancel').focus();
    return new Promise((resolve) => {
      confirmResolve = resolve;
    });
  }

  function onConfirmClosed() {
    const r = confirmResolve;
    confirmResolve = null;
    if (r) r($('confirm-dialog').returnValue === 'ok');
  }

  // ------------------------------------------------------------ VM list --

  async function renderVmList(seq) {
    const [vms, quotas] = await Promise.all([
      listAll(`${projectPath()}/vms`),
      api('GET', `${projectPath()}/quotas`),
    ]);
    if (seq !== state.renderSeq) return;
    renderQuotas(quotas);
    showView('vms-view');
    const writer = canWrite();
    $('vm-create-form').hidden = !writer;
    if (writer && !$('vm-create-dc').options.length) fillDataCenters($('vm-create-dc'));
    $('vm-actions-col').hidden = !writer;
    vms.sort((a, b) => a.name.localeCompare(b.name));
    $('vm-table-body').replaceChildren(...vms.map((vm) => vmRow(vm, writer)));
    $('vm-empty').hidden = vms.length > 0;
  }

  const QUOTA_TITLES = {
    network: 'Networks',
    subnet: 'Subnets',
    port: 'Network interfaces (ports)',
    floatingip: 'Public IPs',
    security_group: 'Security groups',
    security_group_rule: 'Security group rules',
  };

  // Used / limit per resource, as the API reports them (-1: unlimited).
  function renderQuotas(report) {
    $('quota-table-body').replaceChildren(...report.quotas.map((q) => h('tr', {
      dataset: { testid: 'quota-row', resource: q.resource },
    }, [
      h('td', {}, QUOTA_TITLES[q.resource] || q.resource),
      h('td', { dataset: { testid: 'quota-used' } }, String(q.used)),
      h('td', { dataset: { testid: 'quota-limit' } }, q.limit < 0 ? 'Unlimited' : String(q.limit)),
    ])));
  }

  function vmRow(vm, writer) {
    const primary = primaryOf(vm);
    const privateIp = primary ? addresses(primary)[0] : null;
    const publics = vm.interfaces
      .filter((i) => i.public_ip)
      .sort((a, b) => Number(b.primary) - Number(a.primary))
      .map((i) => i.public_ip);
    const cells = [
      h('td', {}, h('a', { href: vmHash(vm.id), dataset: { testid: 'vm-link' } }, vm.name)),
      h('td', {}, dcName(vm.data_center_id)),
      h('td', {}, osTitle(vm.os_type)),
      h('td', {}, powerBadge(vm.power_state)),
      h('td', { class: 'mono', dataset: { testid: 'vm-private-ip' } }, privateIp || '—'),
      h('td', { class: 'mono', dataset: { testid: 'vm-public-ip' } }, publics.length ? publics.join(', ') : '—'),
    ];
    if (writer) {
      cells.push(h('td', { class: 'actions' }, powerButton(vm, 'list'), h('button', {
        type: 'button',
        class: 'button small danger-outline',
        dataset: { testid: 'vm-delete' },
        'aria-label': `Delete VM ${vm.name}`,
        onclick: (ev) => deleteVm(vm, ev.currentTarget),
      }, 'Delete')));
    }
    return h('tr', { dataset: { testid: 'vm-row', vmName: vm.name, vmId: vm.id } }, cells);
  }

  function powerButton(vm, context) {
    const running = vm.power_state === 'running';
    const verb = running ? 'stop' : 'start';
    return h('button', {
      type: 'button',
      class: `button small${context === 'detail' ? '' : ' ghost'}`,
      dataset: { testid: `vm-${verb}` },
      'aria-label': `${running ? 'Stop' : 'Start'} VM ${vm.name}`,
      onclick: (ev) => act(ev.currentTarget, async () => {
        await api('POST', `${projectPath()}/vms/${enc(vm.id)}/${verb}`);
        notify('page', 'success', `VM ${vm.name} is ${running ? 'stopped' : 'running'}.`);
        if (context === 'detail') await refreshVm();
        else await renderVmList(state.renderSeq);
      }),
    }, running ? 'Stop' : 'Start');
  }

  async function deleteVm(vm, button) {
    const ok = await confirmAction({
      title: `Delete VM ${vm.name}?`,
      message: `VM ${vm.name} and its network interfaces will be deleted, and their private and public IP addresses released. This cannot be undone.`,
      ok: 'Delete VM',
    });
    if (!ok) return;
    await act(button, async () => {
      await api('DELETE', `${projectPath()}/vms/${enc(vm.id)}`);
      await renderVmList(state.renderSeq);
      notify('page', 'success', `VM ${vm.name} was deleted.`);
    });
  }

  async function onCreateVm(ev) {
    ev.preventDefault();
    const name = $('vm-create-name').value.trim();
    await act($('vm-create-submit'), async () => {
      const vm = await api('POST', `${projectPath()}/vms`, {
        name,
        data_center_id: $('vm-create-dc').value,
        os_type: $('vm-create-os').value,
      });
      $('vm-create-name').value = '';
      await renderVmList(state.renderSeq);
      notify('page', 'success', `VM ${vm.name} was created.`);
    });
  }

  // ---------------------------------------------------------- VM detail --

  async function loadNetworks(query) {
    const items = await listAll(`${projectPath()}/networks${query || ''}`);
    for (const n of items) state.networks.set(n.id, n);
    return items;
  }

  /** The VM with its supplementary interfaces, each under its parent. */
  async function loadVm(id) {
    const vm = await api('GET', `${projectPath()}/vms/${enc(id)}`);
    const tops = vm.interfaces.filter((i) => !i.parent_id);
    const lists = await Promise.all(tops.map((i) =>
      listAll(`${projectPath()}/interfaces?parent_id=${enc(i.id)}`)));
    const children = new Map();
    tops.forEach((t, n) => children.set(t.id, lists[n]));
    for (const i of vm.interfaces.filter((x) => x.parent_id)) {
      const list = children.get(i.parent_id) || [];
      if (!list.some((c) => c.id === i.id)) list.push(i);
      children.set(i.parent_id, list);
    }
    for (const list of children.values()) list.sort((a, b) => (a.vlan_id || 0) - (b.vlan_id || 0));
    return { vm, children };
  }

  async function renderVm(id, seq) {
    state.networks = new Map();
    const [{ vm, children }] = await Promise.all([loadVm(id), loadNetworks()]);
    if (seq !== state.renderSeq) return;
    state.vm = vm;
    state.children = children;
    showView('vm-view');
    $('vm-back').href = vmsHash();
    drawVm();
  }

  async function refreshVm() {
    const { vm, children } = await loadVm(state.vm.id);
    state.vm = vm;
    state.children = children;
    drawVm();
    if ($('edit-vm-dialog').open) drawEditDialog();
  }

  function drawVm() {
    const vm = state.vm;
    $('vm-title').textContent = vm.name;
    $('vm-crumb').textContent = vm.name;
    $('vm-power').replaceWith(Object.assign(powerBadge(vm.power_state), { id: 'vm-power' }));
    const actions = [];
    if (canWrite()) {
      actions.push(h('button', {
        type: 'button',
        class: 'button primary',
        id: 'edit-vm-button',
        dataset: { testid: 'edit-vm-button' },
        onclick: openEditDialog,
      }, 'Edit VM'));
      actions.push(powerButton(vm, 'detail'));
    }
    $('vm-actions').replaceChildren(...actions);
    const tops = vm.interfaces.filter((i) => !i.parent_id);
    const summary = [
      ['Data center', dcName(vm.data_center_id)],
      ['OS type', osTitle(vm.os_type)],
      ['Power state', vm.power_state === 'running' ? 'Running' : 'Stopped'],
      ['Network interfaces', String(tops.length)],
      ['VM ID', vm.id],
    ];
    $('vm-summary').replaceChildren(...summary.map(([k, v]) =>
      h('div', {}, h('dt', {}, k), h('dd', { dataset: { testid: `summary-${k.toLowerCase().replace(/ /g, '-')}` } }, v))));
    const rows = [];
    for (const iface of tops) {
      rows.push(interfaceRow(iface, false));
      for (const child of state.children.get(iface.id) || []) rows.push(interfaceRow(child, true));
    }
    $('vm-interfaces-body').replaceChildren(...rows);
  }

  function networkCell(iface, child) {
    const kind = kindOf(iface);
    return h('td', {},
      child ? h('span', { class: 'child-mark', 'aria-hidden': 'true' }, '↳ ') : null,
      h('span', { class: 'network-name', dataset: { testid: 'interface-network' } }, iface.network_name),
      kind ? h('span', { class: `tag kind-${kind}` }, KIND_TITLES[kind]) : null,
      child ? h('span', { class: 'tag vlan', dataset: { testid: 'vlan-tag' } },
        `Supplementary${iface.vlan_id != null ? ` · VLAN ${iface.vlan_id}` : ''}`) : null);
  }

  function ipList(iface) {
    const ips = addresses(iface);
    if (!ips.length) return h('span', { class: 'muted' }, 'None');
    return ips.map((ip) => h('div', { class: 'mono' }, ip));
  }

  function primaryMarker() {
    return h('span', { class: 'badge primary-badge', dataset: { testid: 'primary-marker' } }, '★ Primary');
  }

  function interfaceRow(iface, child) {
    return h('tr', {
      class: child ? 'child-row' : '',
      dataset: {
        testid: child ? 'supplementary-row' : 'interface-row',
        interfaceId: iface.id,
        networkName: iface.network_name,
        primary: String(iface.primary),
        parentId: iface.parent_id || undefined,
        vlan: child && iface.vlan_id != null ? String(iface.vlan_id) : undefined,
      },
    },
    networkCell(iface, child),
    h('td', { dataset: { testid: 'interface-private-ips' } }, ipList(iface)),
    h('td', { class: 'mono', dataset: { testid: 'interface-public-ip' } }, iface.public_ip || '—'),
    h('td', { class: 'mono' }, iface.mac_address),
    h('td', {}, iface.primary ? primaryMarker() : h('span', { class: 'muted' }, 'No')));
  }

  // ---------------------------------------------------------- Edit VM ---

  function openEditDialog() {
    clearNotice('edit');
    $('add-interface-form').hidden = true;
    $('add-interface-button').hidden = false;
    $('add-supplementary-form').hidden = true;
    $('add-supplementary-button').hidden = false;
    drawEditDialog();
    $('edit-vm-dialog').showModal();
    $('add-interface-button').focus();
  }

  function drawEditDialog() {
    const vm = state.vm;
    $('edit-vm-title').textContent = `Edit VM ${vm.name}`;
    const items = [];
    for (const iface of vm.interfaces.filter((i) => !i.parent_id)) {
      items.push(editItem(iface));
      for (const child of state.children.get(iface.id) || []) items.push(editChildItem(child));
    }
    $('edit-interfaces').replaceChildren(...items);
  }

  function describe(iface) {
    const ip = addresses(iface)[0];
    return `the interface on ${iface.network_name}${ip ? ` (${ip})` : ''}`;
  }

  function editItem(iface) {
    const kind = kindOf(iface);
    const controls = [];
    if (kind === 'custom') {
      controls.push(h('p', { class: 'hint explanation', dataset: { testid: 'no-public-ip-explanation' } },
        `No public IP: ${iface.network_name} is a custom (L2) network. Public IPs can only be allocated on interfaces of standard (L3) networks.`));
    } else if (iface.public_ip) {
      controls.push(h('button', {
        type: 'button',
        class: 'button small danger-outline',
        dataset: { testid: 'release-public-ip' },
        'aria-label': `Release Public IP ${iface.public_ip} of ${describe(iface)}`,
        onclick: (ev) => releasePublicIp(iface, ev.currentTarget),
      }, 'Release Public IP'));
    } else {
      controls.push(h('button', {
        type: 'button',
        class: 'button small',
        dataset: { testid: 'allocate-public-ip' },
        'aria-label': `Allocate Public IP on ${describe(iface)}`,
        onclick: (ev) => allocatePublicIp(iface, ev.currentTarget),
      }, 'Allocate Public IP'));
    }
    if (iface.primary) {
      controls.push(h('span', { class: 'hint', dataset: { testid: 'primary-note' } },
        'The primary interface cannot be removed.'));
    } else {
      controls.push(h('button', {
        type: 'button',
        class: 'icon-button danger',
        dataset: { testid: 'delete-interface' },
        'aria-label': `Remove ${describe(iface)}`,
        title: `Remove ${describe(iface)}`,
        onclick: (ev) => removeInterface(iface, ev.currentTarget),
      }, trashIcon()));
    }
    return h('li', {
      class: 'interface-item',
      dataset: {
        testid: 'edit-interface-row',
        interfaceId: iface.id,
        networkName: iface.network_name,
        primary: String(iface.primary),
      },
    },
    h('div', { class: 'interface-main' },
      h('div', { class: 'interface-title' },
        h('strong', {}, iface.network_name),
        kind ? h('span', { class: `tag kind-${kind}` }, KIND_TITLES[kind]) : null,
        iface.primary ? primaryMarker() : null),
      h('div', { class: 'interface-facts' },
        h('span', {}, 'Private IP: ', h('span', { class: 'mono' }, addresses(iface).join(', ') || 'none')),
        h('span', {}, 'Public IP: ', h('span', { class: 'mono', dataset: { testid: 'edit-public-ip' } }, iface.public_ip || 'none')),
        h('span', {}, 'MAC: ', h('span', { class: 'mono' }, iface.mac_address)))),
    h('div', { class: 'interface-controls' }, controls));
  }

  function editChildItem(iface) {
    return h('li', {
      class: 'interface-item child',
      dataset: { testid: 'edit-supplementary-row', interfaceId: iface.id, networkName: iface.network_name, vlan: String(iface.vlan_id ?? '') },
    },
    h('div', { class: 'interface-main' },
      h('div', { class: 'interface-title' },
        h('span', { class: 'child-mark', 'aria-hidden': 'true' }, '↳ '),
        h('strong', {}, iface.network_name),
        h('span', { class: 'tag vlan' }, `Supplementary${iface.vlan_id != null ? ` · VLAN ${iface.vlan_id}` : ''}`)),
      h('div', { class: 'interface-facts' },
        h('span', {}, 'Private IP: ', h('span', { class: 'mono' }, addresses(iface).join(', ') || 'none')),
        h('span', {}, 'Public IP: ', h('span', { class: 'mono' }, iface.public_ip || 'none')),
        h('span', {}, 'MAC: ', h('span', { class: 'mono' }, iface.mac_address)))),
    h('div', { class: 'interface-controls' },
      h('button', {
        type: 'button',
        class: 'icon-button danger',
        dataset: { testid: 'delete-supplementary' },
        'aria-label': `Remove ${describeChild(iface)}`,
        title: `Remove ${describeChild(iface)}`,
        onclick: (ev) => removeSupplementary(iface, ev.currentTarget),
      }, trashIcon())));
  }

  function describeChild(iface) {
    const ip = addresses(iface)[0];
    const vlan = iface.vlan_id != null ? ` VLAN ${iface.vlan_id}` : '';
    return `the supplementary interface${vlan} on ${iface.network_name}${ip ? ` (${ip})` : ''}`;
  }

  async function showAddSupplementary() {
    await act($('add-supplementary-button'), async () => {
      const vm = state.vm;
      const nets = await loadNetworks(`?data_center_id=${enc(vm.data_center_id)}`);
      const inDc = nets.filter((n) => n.data_center_id === vm.data_center_id && n.kind === 'standard')
        .sort((a, b) => Number(b.is_default) - Number(a.is_default) || a.name.localeCompare(b.name));
      const tops = vm.interfaces.filter((i) => !i.parent_id);
      if (!inDc.length) {
        notify('edit', 'error', `There is no standard network in data center ${dcName(vm.data_center_id)} for a supplementary interface.`);
        return;
      }
      $('add-supplementary-parent').replaceChildren(...tops.map((i) =>
        h('option', { value: i.id }, `${i.network_name}${addresses(i)[0] ? ` — ${addresses(i)[0]}` : ''}${i.primary ? ' (primary)' : ''}`)));
      $('add-supplementary-network').replaceChildren(...inDc.map((n) =>
        h('option', { value: n.id }, n.name)));
      $('add-supplementary-vlan').value = '';
      $('add-supplementary-form').hidden = false;
      $('add-supplementary-button').hidden = true;
      $('add-supplementary-parent').focus();
    });
  }

  function hideAddSupplementary() {
    $('add-supplementary-form').hidden = true;
    $('add-supplementary-button').hidden = false;
    $('add-supplementary-button').focus();
  }

  async function onAddSupplementary(ev) {
    ev.preventDefault();
    const parent = $('add-supplementary-parent').value;
    const body = { network_id: $('add-supplementary-network').value };
    const vlan = $('add-supplementary-vlan').value.trim();
    if (vlan) body.vlan_id = Number(vlan);
    await act($('add-supplementary-confirm'), async () => {
      const s = await api('POST', `${projectPath()}/interfaces/${enc(parent)}/supplementary-interfaces`, body);
      $('add-supplementary-form').hidden = true;
      $('add-supplementary-button').hidden = false;
      await refreshVm();
      const ip = addresses(s)[0];
      notify('edit', 'success', `Added a supplementary interface on VLAN ${s.vlan_id} of network ${s.network_name}${ip ? ` with private IP ${ip}` : ''}.`);
    });
  }

  async function removeSupplementary(iface, button) {
    const ok = await confirmAction({
      title: 'Remove supplementary interface?',
      message: `Remove ${describeChild(iface)}? Its private IP addresses are released.`,
      ok: 'Remove interface',
    });
    if (!ok) return;
    await act(button, async () => {
      await api('DELETE', `${projectPath()}/supplementary-interfaces/${enc(iface.id)}`);
      await refreshVm();
      notify('edit', 'success', `Removed the supplementary interface on VLAN ${iface.vlan_id}.`);
    });
  }

  async function showAddInterface() {
    await act($('add-interface-button'), async () => {
      const vm = state.vm;
      const nets = await loadNetworks(`?data_center_id=${enc(vm.data_center_id)}`);
      const inDc = nets.filter((n) => n.data_center_id === vm.data_center_id)
        .sort((a, b) => Number(b.is_default) - Number(a.is_default) || a.name.localeCompare(b.name));
      if (!inDc.length) {
        notify('edit', 'error', `There is no network in data center ${dcName(vm.data_center_id)} to add.`);
        return;
      }
      $('add-interface-network').replaceChildren(...inDc.map((n) =>
        h('option', { value: n.id }, `${n.name} — ${KIND_TITLES[n.kind] || n.kind}`)));
      $('add-interface-hint').textContent =
        `Only networks in data center ${dcName(vm.data_center_id)}, the VM's data center, are listed.`;
      $('add-interface-form').hidden = false;
      $('add-interface-button').hidden = true;
      $('add-interface-network').focus();
    });
  }

  async function onAddInterface(ev) {
    ev.preventDefault();
    const select = $('add-interface-network');
    const name = state.networks.get(select.value) ? state.networks.get(select.value).name : 'the network';
    await act($('add-interface-confirm'), async () => {
      const iface = await api('POST', `${projectPath()}/vms/${enc(state.vm.id)}/interfaces`, { network_id: select.value });
      $('add-interface-form').hidden = true;
      $('add-interface-button').hidden = false;
      await refreshVm();
      const ip = addresses(iface)[0];
      notify('edit', 'success', `Added an interface on ${name}${ip ? ` with private IP ${ip}` : ''}.`);
    });
  }

  function hideAddInterface() {
    $('add-interface-form').hidden = true;
    $('add-interface-button').hidden = false;
    $('add-interface-button').focus();
  }

  async function removeInterface(iface, button) {
    const extra = iface.public_ip ? ` Its public IP ${iface.public_ip} is released too and cannot be reclaimed.` : '';
    const ok = await confirmAction({
      title: 'Remove network interface?',
      message: `Remove ${describe(iface)} from VM ${state.vm.name}? Its private IP addresses are released.${extra}`,
      ok: 'Remove interface',
    });
    if (!ok) return;
    await act(button, async () => {
      await api('DELETE', `${projectPath()}/vms/${enc(state.vm.id)}/interfaces/${enc(iface.id)}`);
      await refreshVm();
      notify('edit', 'success', `Removed the interface on ${iface.network_name}.`);
    });
  }

  async function allocatePublicIp(iface, button) {
    await act(button, async () => {
      const ip = await api('POST', `${projectPath()}/interfaces/${enc(iface.id)}/public-ip`, {});
      await refreshVm();
      notify('edit', 'success', `Allocated public IP ${ip.address} on ${describe(iface)}.`);
    });
  }

  async function releasePublicIp(iface, button) {
    const ok = await confirmAction({
      title: 'Release public IP?',
      message: `Release public IP ${iface.public_ip} from ${describe(iface)}? Releasing is permanent: the address returns to the shared pool and cannot be reclaimed. If you allocate a new public IP afterwards, you will receive a different address.`,
      ok: 'Release Public IP',
    });
    if (!ok) return;
    await act(button, async () => {
      await api('DELETE', `${projectPath()}/interfaces/${enc(iface.id)}/public-ip`);
      await refreshVm();
      notify('edit', 'success', `Released public IP ${iface.public_ip}.`);
    });
  }

  // ----------------------------------------------------------- activity --

  /** Most events the Activity page shows. */
  const ACTIVITY_ROWS = 100;

  /** The project's newest events from the change feed, newest first. */
  async function renderActivity(seq) {
    const page = await api('GET', `/v1/events?latest=true&limit=${ACTIVITY_ROWS}&project_id=${enc(state.projectId)}`);
    if (seq !== state.renderSeq) return;
    showView('activity-view');
    const rows = page.events.slice().reverse().map((e) => h('tr', {
      dataset: { testid: 'activity-row', seq: String(e.seq), kind: e.kind, action: e.action },
    },
    h('td', {}, h('time', { datetime: e.at }, e.at.replace('T', ' ').replace('Z', ' UTC'))),
    h('td', { dataset: { testid: 'activity-user' } }, e.actor.user_name),
    h('td', {}, e.actor.dialect),
    h('td', { dataset: { testid: 'activity-action' } }, e.action),
    h('td', { dataset: { testid: 'activity-kind' } }, e.kind.replace(/_/g, ' ')),
    h('td', { class: 'mono' }, e.resource_id)));
    $('activity-table-body').replaceChildren(...(rows.length ? rows
      : [h('tr', {}, h('td', { colspan: '6', class: 'empty' }, 'No changes recorded yet.'))]));
  }

  // ----------------------------------------------------------- networks --

  async function renderNetworks(seq) {
    state.networks = new Map();
    const nets = await loadNetworks();
    if (seq !== state.renderSeq) return;
    showView('networks-view');
    const admin = canAdminister();
    $('network-create-form').hidden = !admin;
    if (admin && !$('network-create-dc').options.length) fillDataCenters($('network-create-dc'));
    $('subnet-create-form').hidden = !admin;
    if (admin) {
      const select = $('subnet-create-network');
      const keep = select.value;
      const own = nets.filter((n) => n.kind === 'standard' && n.project_id === state.projectId)
        .sort((a, b) => a.name.localeCompare(b.name));
      select.replaceChildren(...own.map((n) => h('option', { value: n.id }, `${n.name} (${dcName(n.data_center_id)})`)));
      if (own.some((n) => n.id === keep)) select.value = keep;
    }
    const dcs = state.dataCenters.slice();
    for (const n of nets) {
      if (!dcs.some((d) => d.id === n.data_center_id)) dcs.push({ id: n.data_center_id, name: n.data_center_id });
    }
    const sections = dcs.map((dc) => {
      const list = nets.filter((n) => n.data_center_id === dc.id)
        .sort((a, b) => Number(b.is_default) - Number(a.is_default) || a.name.localeCompare(b.name));
      return h('section', { class: 'card', dataset: { testid: 'dc-section', dcName: dc.name } },
        h('h2', {}, `Data center ${dc.name}`),
        list.length ? h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `Networks of data center ${dc.name}` }, h('table', {},
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, 'Network'),
            h('th', { scope: 'col' }, 'Kind'),
            h('th', { scope: 'col' }, 'Subnets'),
            h('th', { scope: 'col' }, 'Free addresses'),
            admin ? h('th', { scope: 'col', class: 'actions-col' }, 'Actions') : null)),
          h('tbody', {}, list.map((n) => networkRow(n, admin)))))
          : h('p', { class: 'empty' }, 'No networks in this data center.'));
    });
    $('networks-by-dc').replaceChildren(...sections);
    await renderRouters(seq, nets);
  }

  /** The project's routers with their gateway and interfaces (read-only:
   * routers are changed with the CLI, the native API or Neutron). */
  async function renderRouters(seq, nets) {
    const routers = await listAll(`${projectPath()}/routers`);
    if (seq !== state.renderSeq) return;
    const netName = (id) => (nets.find((n) => n.id === id) || { name: id }).name;
    const card = h('section', { class: 'card', dataset: { testid: 'routers-section' } },
      h('h2', {}, 'Routers'),
      routers.length ? h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Routers' }, h('table', {},
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Router'),
          h('th', { scope: 'col' }, 'Data center'),
          h('th', { scope: 'col' }, 'Gateway'),
          h('th', { scope: 'col' }, 'Interfaces'))),
        h('tbody', {}, routers.map((r) => h('tr', { dataset: { testid: 'router-row', routerName: r.name } },
          h('td', {}, r.name || r.id),
          h('td', {}, dcName(r.data_center_id)),
          h('td', {}, r.gateway
            ? r.gateway.external_fixed_ips.map((g) => g.ip_address).join(', ') + (r.gateway.enable_snat ? ' (SNAT)' : '')
            : 'none'),
          h('td', {}, r.interfaces.length
            ? r.interfaces.map((i) => `${i.ip_address} on ${netName(i.network_id)}`).join(', ')
            : 'none'))))))
        : h('p', { class: 'empty' }, 'No routers. Networks attached to no router reach the public IP pools through the implicit router of the project.'));
    $('routers-list').replaceChildren(card);
  }

  /** Whether the project may change the network (not a shared one of the cloud). */
  function ownNetwork(n) {
    return n.project_id === state.projectId;
  }

  function networkRow(n, admin) {
    const scope = n.is_default ? 'Default' : n.shared ? 'Shared' : null;
    const mine = admin && ownNetwork(n);
    return h('tr', { dataset: { testid: 'network-row', networkName: n.name, kind: n.kind } },
      h('td', {}, h('strong', {}, n.name), scope ? h('span', { class: 'tag' }, scope) : null,
        n.description ? h('div', { class: 'muted small' }, n.description) : null),
      h('td', { dataset: { testid: 'network-kind' } }, h('span', { class: `tag kind-${n.kind}` }, KIND_TITLES[n.kind] || n.kind)),
      h('td', {}, n.subnets.length
        ? n.subnets.map((s) => h('div', { class: 'subnet-line', dataset: { testid: 'subnet-line', subnet: s.cidr } },
          h('span', { class: 'mono' }, `${s.cidr}${s.name ? ` (${s.name})` : ''}`),
          mine ? h('button', {
            type: 'button',
            class: 'icon-button danger',
            dataset: { testid: 'delete-subnet' },
            'aria-label': `Delete subnet ${s.cidr} of network ${n.name}`,
            title: `Delete subnet ${s.cidr}`,
            onclick: (ev) => deleteSubnet(n, s, ev.currentTarget),
          }, trashIcon()) : null))
        : h('span', { class: 'muted' }, n.kind === 'custom' ? 'None (L2)' : 'None')),
      h('td', {}, n.subnets.length
        ? n.subnets.map((s) => h('div', { class: 'mono', dataset: { testid: 'subnet-free', subnet: s.cidr } }, formatCount(s.free_addresses)))
        : h('span', { class: 'muted' }, '—')),
      admin ? h('td', { class: 'row-actions-cell' }, mine && !n.is_default ? h('div', { class: 'row-actions' },
        h('button', {
          type: 'button',
          class: 'button small danger-outline',
          dataset: { testid: 'delete-network' },
          'aria-label': `Delete network ${n.name}`,
          onclick: (ev) => deleteNetwork(n, ev.currentTarget),
        }, 'Delete')) : null) : null);
  }

  async function onCreateSubnet(ev) {
    ev.preventDefault();
    const select = $('subnet-create-network');
    const n = state.networks.get(select.value);
    const cidr = $('subnet-create-cidr').value.trim();
    await act($('subnet-create-submit'), async () => {
      const s = await api('POST', `${projectPath()}/networks/${enc(select.value)}/subnets`, { cidr });
      $('subnet-create-cidr').value = '';
      await renderNetworks(state.renderSeq);
      notify('page', 'success', `Subnet ${s.cidr} was added to network ${n ? n.name : ''}.`);
    });
  }

  async function deleteSubnet(n, s, button) {
    const ok = await confirmAction({
      title: 'Delete subnet?',
      message: `Delete subnet ${s.cidr} of network ${n.name}? Interfaces can no longer get addresses from it.`,
      ok: 'Delete subnet',
    });
    if (!ok) return;
    await act(button, async () => {
      await api('DELETE', `${projectPath()}/subnets/${enc(s.id)}`);
      await renderNetworks(state.renderSeq);
      notify('page', 'success', `Subnet ${s.cidr} was deleted.`);
    });
  }

  async function deleteNetwork(n, button) {
    const ok = await confirmAction({
      title: 'Delete network?',
      message: `Delete network ${n.name} and its subnets? A network that still has network interfaces cannot be deleted.`,
      ok: 'Delete network',
    });
    if (!ok) return;
    await act(button, async () => {
      await api('DELETE', `${projectPath()}/networks/${enc(n.id)}`);
      await renderNetworks(state.renderSeq);
      notify('page', 'success', `Network ${n.name} was deleted.`);
    });
  }

  async function onCreateNetwork(ev) {
    ev.preventDefault();
    const kind = $('network-create-kind').value;
    const cidr = $('network-create-cidr').value.trim();
    const body = {
      name: $('network-create-name').value.trim(),
      data_center_id: $('network-create-dc').value,
      kind,
    };
    if (kind === 'standard' && cidr) body.subnets = [{ cidr }];
    await act($('network-create-submit'), async () => {
      const n = await api('POST', `${projectPath()}/networks`, body);
      $('network-create-name').value = '';
      $('network-create-cidr').value = '';
      await renderNetworks(state.renderSeq);
      notify('page', 'success', `Network ${n.name} was created.`);
    });
  }

  // -------------------------------------------------------------- wiring --

  function init() {
    $('login-form').addEventListener('submit', onLogin);
    $('logout-button').addEventListener('click', onLogout);
    $('notice-close').addEventListener('click', () => clearNotice('page'));
    $('project-switcher').addEventListener('change', (ev) => {
      state.projectId = ev.target.value;
      go(vmsHash());
    });
    $('brand').addEventListener('click', (ev) => {
      ev.preventDefault();
      if (state.projectId) go(vmsHash());
    });
    $('vm-create-form').addEventListener('submit', onCreateVm);
    $('network-create-form').addEventListener('submit', onCreateNetwork);
    $('network-create-kind').addEventListener('change', (ev) => {
      $('network-create-cidr-label').hidden = ev.target.value !== 'standard';
    });
    $('add-interface-button').addEventListener('click', showAddInterface);
    $('add-interface-form').addEventListener('submit', onAddInterface);
    $('add-interface-cancel').addEventListener('click', hideAddInterface);
    $('add-supplementary-button').addEventListener('click', showAddSupplementary);
    $('add-supplementary-form').addEventListener('submit', onAddSupplementary);
    $('add-supplementary-cancel').addEventListener('click', hideAddSupplementary);
    $('subnet-create-form').addEventListener('submit', onCreateSubnet);
    $('edit-vm-close').addEventListener('click', () => $('edit-vm-dialog').close());
    $('edit-vm-x').addEventListener('click', () => $('edit-vm-dialog').close());
    $('edit-vm-dialog').addEventListener('close', () => {
      const b = $('edit-vm-button');
      if (b) b.focus();
    });
    $('confirm-ok').addEventListener('click', () => $('confirm-dialog').close('ok'));
    $('confirm-cancel').addEventListener('click', () => $('confirm-dialog').close('cancel'));
    $('confirm-dialog').addEventListener('close', onConfirmClosed);
    window.addEventListener('hashchange', render);
    render();
  }

  init();
})();
