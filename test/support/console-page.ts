import type { Page } from 'playwright-core'

// Reading the console's page from a test.

/**
 * What the functions run in the page use of its globals: this file compiles without the DOM's types.
 * Functions, not strings: the console's Content-Security-Policy refuses to evaluate strings.
 */
export interface PageGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null; activeElement: { id: string } | null; cookie: string }
  localStorage: { length: number }
  sessionStorage: { length: number }
  location: { href: string }
}

/** The id of the focused element. */
export async function focused(page: Page): Promise<string | undefined> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id)
}

export async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).textContent()) ?? '').trim()
}

/** Waits until the element's whole text is `expected`, then answers it (the assertion compares it whole). */
export async function untilText(page: Page, selector: string, expected: string): Promise<string> {
  await page
    .waitForFunction(
      ([sel, want]) => (globalThis as unknown as PageGlobals).document.querySelector(sel)?.textContent?.trim() === want,
      [selector, expected] as const,
      { timeout: 15_000 },
    )
    .catch(() => {})
  return text(page, selector)
}
