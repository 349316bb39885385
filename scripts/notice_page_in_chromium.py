"""Opens the public notice page in headless Chromium as a reader on a phone would, and prints
what the reader sees as JSON: the page's text and HTML, where its first objection link leads,
whether a form posting to /objection is there, and whether the page fits the screen's width.
A screenshot of the whole page is kept.

Used by services/qiancheng/tests/public_pages.rs (QIANCHENG_PLAYWRIGHT_PYTHON names a Python
with playwright; Chromium is Debian's, since browsers cannot be downloaded here):

    python notice_page_in_chromium.py BASE_URL SCREENSHOT.png [CHROMIUM]
"""

import json
import sys

from playwright.sync_api import sync_playwright


def main() -> None:
    base, screenshot = sys.argv[1], sys.argv[2]
    executable = sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
        page.goto(base + "/notices")
        text = page.inner_text("body")
        html = page.content()
        page.screenshot(path=screenshot, full_page=True)
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.locator("a[href^='/objection?claim=']").first.click()
        page.wait_for_load_state()
        seen = {
            "text": text,
            "html": html,
            "fits_width": fits,
            "objection_url": page.url,
            "objection_forms": page.locator("form[method='post'][action='/objection']").count(),
        }
        browser.close()
    print(json.dumps(seen, ensure_ascii=False))


if __name__ == "__main__":
    main()
