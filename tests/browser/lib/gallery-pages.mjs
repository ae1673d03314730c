// gallery-pages.mjs — every page a person sees, as the screenshot gallery
// (tests/browser/gallery.mjs, `make screenshots`) shoots it: a name (the
// file docs/screenshots/LANG/NAME.jpg), the group it is listed under, what
// it is, and the templates of data/templates it shows (the page's own and
// the parts it includes).  gallery-coverage.test.mjs checks that these
// cover every template, so a new page without a screenshot fails `make
// check`.
export const GROUPS = {
  site: 'Public site',
  portal: 'Portal (login)',
  eid: 'eID card reader and Web eID',
  app: 'sleutel app login',
  smartid: 'Smart-ID login',
  account: 'Citizen page (/account)',
  proofing: 'App enrolment: identity proofing',
  sidreg: 'Smart-ID registration',
};

export const PAGES = [
  { name: 'site-home', group: 'site', what: 'start page', templates: ['layout', 'site_home'] },
  { name: 'site-safety', group: 'site', what: 'how safe it is', templates: ['site_safety'] },
  { name: 'site-get-started', group: 'site', what: 'get started', templates: ['site_get_started'] },
  { name: 'site-partners', group: 'site', what: 'partner sites', templates: ['site_partners'] },
  { name: 'site-faq', group: 'site', what: 'frequently asked questions', templates: ['site_faq'] },
  { name: 'site-not-found', group: 'site', what: '404 page', templates: ['site_not_found'] },

  { name: 'choose', group: 'portal', what: 'key choice', templates: ['choose', 'key_button', '_cancel', '_timelimit'] },
  { name: 'testkey', group: 'portal', what: 'test key (test builds only)', templates: ['testkey'] },
  { name: 'wait', group: 'portal', what: 'confirm on your other device', templates: ['wait'] },
  { name: 'consent', group: 'portal', what: 'share data with the site?', templates: ['consent', 'consent_item'] },
  { name: 'logout', group: 'portal', what: 'log out?', templates: ['logout'] },
  { name: 'logged-out', group: 'portal', what: 'logged out', templates: ['logged_out'] },
  { name: 'error-expired', group: 'portal', what: 'error: request expired', templates: ['error'] },
  { name: 'error-unknown-client', group: 'portal', what: 'error: unknown site', templates: ['error'] },

  { name: 'eid', group: 'eid', what: 'eID page (TLS and Web eID)', templates: ['eid'] },
  { name: 'webeid-missing', group: 'eid', what: 'eID page, Web eID extension not found', templates: ['eid'] },
  { name: 'eid-error', group: 'eid', what: 'eID origin: no card presented', templates: ['eid_error'] },
  { name: 'eid-retry', group: 'eid', what: 'eID login could not be finished', templates: ['eid_retry'] },
  { name: 'eid-other-browser', group: 'eid', what: 'eID login started in another browser', templates: ['eid_other_browser'] },

  { name: 'app-login', group: 'app', what: 'phone number form', templates: ['app_login'] },
  { name: 'app-wait', group: 'app', what: 'wait page with the code', templates: ['app_wait'] },
  { name: 'app-outcome', group: 'app', what: 'refused on the phone', templates: ['app_outcome'] },
  { name: 'app-refused', group: 'app', what: 'too many attempts', templates: ['app_refused'] },

  { name: 'sid-login', group: 'smartid', what: 'national register number form', templates: ['sid_login'] },
  { name: 'sid-wait', group: 'smartid', what: 'wait page with the code', templates: ['sid_wait'] },

  { name: 'account-login', group: 'account', what: 'log in to your page', templates: ['account_login'] },
  { name: 'account', group: 'account', what: 'notices, devices, Smart-ID, sites, history, export',
    templates: ['account', 'account_notice', 'account_phone', 'account_device', 'account_smartid',
      'account_consent', 'account_history'] },

  { name: 'proofing-bank', group: 'proofing', what: 'before the bank', templates: ['proofing_bank'] },
  { name: 'proofing-done', group: 'proofing', what: 'the proofing code', templates: ['proofing_done'] },
  { name: 'proofing-eid', group: 'proofing', what: 'before the eID card', templates: ['proofing_eid'] },
  { name: 'proofing-error', group: 'proofing', what: 'link not valid', templates: ['proofing_error'] },

  { name: 'sidreg-intro', group: 'sidreg', what: 'register with your ID card', templates: ['smartid_register'] },
  { name: 'sidreg-questions', group: 'sidreg', what: 'a few questions', templates: ['smartid_questions'] },
  { name: 'sidreg-code', group: 'sidreg', what: 'registration code', templates: ['smartid_code'] },
  { name: 'sidreg-confirm', group: 'sidreg', what: 'confirm (replacing a device)', templates: ['smartid_confirm', 'smartid_replace'] },
  { name: 'sidreg-done', group: 'sidreg', what: 'continue on your phone', templates: ['smartid_done'] },
  { name: 'sidreg-problem', group: 'sidreg', what: 'registration problem', templates: ['smartid_problem'] },
  { name: 'sidrp-device-link', group: 'sidreg', what: 'Smart-ID link opened without the app', templates: ['sidrp_device_link'] },
];
