"""The shared-space explorer clicked through in a real browser: JupyterLab on a free local port (127.0.0.1 only), a
small notebook that opens `medrat.plots.explorer` on generated data (PCA, no UMAP), run from JupyterLab's Run menu in
headless Chromium through Playwright. It checks that the map renders, that changing the colour and the projection
re-draws it, and that a click on an image shows its picture, its report and its nearest reports beside the map.

Screenshots go to tests/screenshots/explorer/ (or $MEDRAT_SCREENSHOTS): 01-map.png, 02-colour.png, 03-projection.png,
04-click.png; and 05-standalone-hover.png from the second test, which opens the map saved as one HTML file
(`save_figure`, no server) and hovers an image: plotly's hover box and the thumbnail panel show. The browser is the system's Chromium (`apt-get install chromium`; Playwright does not download one
here); without it, or without playwright / jupyterlab, the test is skipped and says why."""
import json, os, shutil, signal, socket, subprocess, sys, time, urllib.request, uuid
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get('MEDRAT_SCREENSHOTS', ROOT / 'tests' / 'screenshots' / 'explorer'))
CHROMIUM = next((p for p in (shutil.which('chromium'), shutil.which('chromium-browser'), '/usr/bin/chromium')
                 if p and Path(p).exists()), None)
WAIT = 60_000                                            # ms: the longest any one step may take (kernel start, imports)

CELLS = ["""import numpy as np
from medrat.testing import planted_run, radiograph
from medrat.plots import explorer, pca_2d
a = planted_run('aligned', n=40, n_classes=4, noise=0.2)
a.images = np.stack([radiograph(64, 56, seed=i) for i in range(len(a.idx('image')))])
a.texts = [f'generated: the heart size is normal ({i}).' if m == 'image' else t for i, (m, t) in enumerate(zip(a.modality, a.texts))]
turned = lambda X: pca_2d(X) @ np.array([[0., -1.], [1., 0.]], np.float32)   # a second projection without UMAP""",
         "explorer({'aligned': a}, method='pca', methods={'pca': pca_2d, 'pca turned': turned}, k=3)"]


def _notebook(path: Path):
    cells = [dict(cell_type='code', execution_count=None, id=uuid.uuid4().hex[:8], metadata={}, outputs=[], source=s)
             for s in CELLS]
    path.write_text(json.dumps(dict(cells=cells, metadata=dict(kernelspec=dict(name='python3', display_name='Python 3',
                                                                                 language='python')),
                                    nbformat=4, nbformat_minor=5)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _skip_reason():
    if CHROMIUM is None: return "no Chromium on this machine (install the system's package: apt-get install chromium)"
    for mod, pkg in (('playwright', 'playwright'), ('jupyterlab', 'jupyterlab'), ('anywidget', 'anywidget')):
        try: __import__(mod)
        except ImportError: return f"{mod} is not installed (pip install {pkg})"
    return None


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "A JupyterLab server on 127.0.0.1:<free port> with the test notebook; always shut down (its kernels with it)."
    if why := _skip_reason(): pytest.skip(why)
    d = tmp_path_factory.mktemp('lab'); _notebook(d / 'explorer.ipynb')
    port, token = _free_port(), uuid.uuid4().hex
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep),
           'JUPYTERLAB_SETTINGS_DIR': str(d / 'settings'), 'JUPYTERLAB_WORKSPACES_DIR': str(d / 'workspaces'),
           'JUPYTER_RUNTIME_DIR': str(d / 'runtime'), 'JUPYTER_CONFIG_DIR': str(d / 'config'), 'MPLBACKEND': 'Agg'}
    log = open(d / 'server.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
                             '--port-retries=0', f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={d}',
                             '--ServerApp.allow_root=True', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate'],
                            cwd=d, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base, t0 = f'http://127.0.0.1:{port}', time.time()
        while True:
            if proc.poll() is not None: pytest.fail(f"JupyterLab exited ({proc.returncode}): {(d / 'server.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2); break
            except OSError:
                if time.time() - t0 > 90: pytest.fail(f"JupyterLab did not answer in 90 s: {(d / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield dict(url=f'{base}/lab/tree/explorer.ipynb?token={token}', dir=d)
    finally:
        try: os.killpg(proc.pid, signal.SIGTERM); proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try: os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError: pass
        log.close()


def test_explorer_in_chromium(lab):
    from playwright.sync_api import sync_playwright
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox', '--disable-dev-shm-usage'])
        page = browser.new_page(viewport=dict(width=1500, height=1000))
        try:
            page.set_default_timeout(WAIT)
            page.goto(lab['url'])
            page.wait_for_selector('.jp-Notebook .jp-Cell')
            page.wait_for_selector('.jp-StatusBar-Item:has-text("| Idle")')                  # the kernel is up
            if page.locator('.jp-toast-button:has-text("No")').count(): page.locator('.jp-toast-button:has-text("No")').first.click()
            page.locator('.jp-Notebook .jp-Cell').first.click()
            page.keyboard.press('Control+b')                                                  # hide the file browser: room for the map
            page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()               # Run > Run All Cells
            page.locator('.lm-Menu-item:has-text("Run All Cells")').first.click()
            page.wait_for_selector('.jp-InputPrompt:has-text("[1]")')                         # the first cell ran
            plot = page.locator('.js-plotly-plot').first
            page.wait_for_selector('.js-plotly-plot .scatterlayer .point')                     # the map renders
            title = lambda: plot.locator('.gtitle').text_content()
            assert 'coloured by modality (PCA)' in title(), title()
            n_points = plot.locator('.scatterlayer .point').count()
            assert n_points == 80, n_points                                                 # 40 images + 40 reports
            page.screenshot(path=str(SHOTS / '01-map.png'), full_page=True)

            colour = page.locator('.widget-dropdown', has=page.locator('label', has_text='colour')).locator('select')
            colour.select_option('Cardiomegaly')                                             # colour: re-drawn
            page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
                                   ".some(t => t.textContent.includes('coloured by Cardiomegaly'))")
            plot = page.locator('.js-plotly-plot').first
            legend = plot.locator('.legend').text_content()
            assert 'positive (image' in legend and 'negative (report' in legend, legend
            page.screenshot(path=str(SHOTS / '02-colour.png'), full_page=True)

            before = plot.locator('.scatterlayer .point').first.get_attribute('transform')
            page.locator('.widget-toggle-buttons button', has_text='pca turned').click()      # projection: re-drawn
            page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
                                   ".some(t => t.textContent.includes('(PCA TURNED)'))")
            plot = page.locator('.js-plotly-plot').first
            page.wait_for_selector('.js-plotly-plot .scatterlayer .point')
            assert plot.locator('.scatterlayer .point').first.get_attribute('transform') != before
            page.screenshot(path=str(SHOTS / '03-projection.png'), full_page=True)

            trace = plot.locator('.scatterlayer .trace').filter(has=page.locator('path.point')).first
            pt = trace.locator('path.point').nth(2)                                          # an image point
            box = pt.bounding_box(); x, y = box['x'] + box['width'] / 2, box['y'] + box['height'] / 2
            page.mouse.move(x, y); page.wait_for_timeout(300); page.mouse.click(x, y)       # a click on it
            page.wait_for_selector('.widget-html:has-text("nearest reports")')
            panel = page.locator('.widget-html', has_text='nearest reports').first.inner_text()
            assert panel.startswith('image ') and 'labels:' in panel and 'generated: the heart size' in panel, panel
            assert '3 nearest reports' in panel and 'report ' in panel.split('nearest reports')[1], panel
            img = page.locator('.widget-image').first
            img.wait_for(state='visible')
            assert img.evaluate('e => e.naturalWidth') == 56                              # the study's picture
            page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot .legendtext')]"
                                   ".some(t => t.textContent.includes('3 nearest reports'))")       # ringed on the map
            page.screenshot(path=str(SHOTS / '04-click.png'), full_page=True)
        except Exception:
            page.screenshot(path=str(SHOTS / 'failure.png'), full_page=True)          # what the browser showed
            print(f"screenshot of the failure: {SHOTS / 'failure.png'}; server log:\n{(lab['dir'] / 'server.log').read_text()[-3000:]}")
            raise
        finally:
            browser.close()


def test_standalone_html_hover_in_chromium(tmp_path):
    "The map saved as one HTML file (no server): hovering an image shows its thumbnail in the corner panel."
    if why := _skip_reason(): pytest.skip(why)
    import numpy as np
    from playwright.sync_api import sync_playwright
    from medrat.alignment import thumbnail_b64
    from medrat.plots import pca_2d, plot_embedding, save_figure
    from medrat.testing import planted_run, radiograph
    a = planted_run('aligned', n=30, n_classes=3, noise=0.2)
    thumbs = [thumbnail_b64(radiograph(64, 56, seed=i)) if m == 'image' else None for i, m in enumerate(a.modality)]
    html = save_figure(plot_embedding(pca_2d(a.z), a.modality, a.labels, a.texts, thumbs), tmp_path / 'map.html')['html']
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox', '--disable-dev-shm-usage'])
        page = browser.new_page(viewport=dict(width=1000, height=700))
        try:
            page.set_default_timeout(WAIT)
            page.goto(html.as_uri())
            page.wait_for_selector('.js-plotly-plot .scatterlayer .point')
            pt = page.locator('.scatterlayer .trace').first.locator('path.point').nth(1)     # an image point
            box = pt.bounding_box()
            page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] / 2)
            page.wait_for_selector('.hoverlayer .hovertext')                                   # plotly's hover box
            panel = page.locator('img[src^="data:image/png;base64,"]').first                   # the thumbnail panel
            panel.wait_for(state='visible')
            assert panel.evaluate('e => e.naturalWidth') == 56
            assert 'image' in page.locator('.hoverlayer .hovertext').first.text_content()
            page.screenshot(path=str(SHOTS / '05-standalone-hover.png'))
        finally:
            browser.close()
