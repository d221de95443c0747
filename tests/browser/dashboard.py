"""Drive the dashboard in headless Chromium: enter the token, see the pools, click
drain on one server, wait for its state to show, save a screenshot.
usage: dashboard.py ADMIN_URL TOKEN POOL ADDR SCREENSHOT USER_DATA_DIR"""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

admin, token, pool, addr, shot, user_dir = sys.argv[1:7]
opts = Options()
opts.binary_location = "/usr/bin/chromium"
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
          "--disable-quic", f"--user-data-dir={user_dir}", "--window-size=1400,1100"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
try:
    driver.set_page_load_timeout(60)
    driver.get(admin + "/")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "login-btn").click()
    row = f'#pools tr[data-pool="{pool}"][data-addr="{addr}"]'
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, row))
    assert driver.execute_script("return sessionStorage.getItem('sluice-token')") == token
    # The tables are re-rendered every refresh, so look elements up and act on them
    # in one step (a found element can go stale before it is clicked or read).
    def in_page(js):
        return driver.execute_script(js, row)
    # Names are shown as text: the pool cell reads exactly the name, and no element
    # came out of markup in a name (e.g. a pool named `a'b<i>`).
    WebDriverWait(driver, 30).until(lambda d: in_page("const c = document.querySelector(arguments[0] + ' td'); return c ? c.textContent : null;") == pool)
    assert driver.execute_script("return document.querySelectorAll('#pools tbody i, #routes tbody i').length") == 0, "markup in a name became an element"
    WebDriverWait(driver, 30).until(lambda d: in_page("const b = document.querySelector(arguments[0] + ' button.drain'); if (!b) return false; b.click(); return true;"))
    WebDriverWait(driver, 30).until(lambda d: "draining" in (in_page("const s = document.querySelector(arguments[0] + ' .state'); return s ? s.textContent : '';") or ""))
    # Let the chart draw a few points, then keep the evidence.
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.querySelector('#routes tbody').textContent") != "")
    driver.save_screenshot(shot)
    print("ok")
finally:
    driver.quit()
