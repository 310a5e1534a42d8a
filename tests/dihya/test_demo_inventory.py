"""The embedded default's inventory: this machine as its first server, added once; a configured
catalog, or an inventory already in use, gets nothing."""

from pathlib import Path

from sqlalchemy import Engine

from dihya.app import build_app
from dihya.demo_inventory import DEMO_SERVER, seed_demo_inventory
from dihya.settings import load_settings


def test_the_demo_server_is_added_once_and_stays_removed(tmp_path: Path, engine: Engine) -> None:
    app = build_app(load_settings(data_dir=tmp_path), engine=engine)
    assert seed_demo_inventory(app)
    assert app.store.servers() == [DEMO_SERVER]
    assert not seed_demo_inventory(app)  # a restart adds nothing
    app.store.remove_server(DEMO_SERVER.name)
    assert not seed_demo_inventory(app)
    assert app.store.servers() == []


def test_a_configured_catalog_gets_no_demo_server(tmp_path: Path, engine: Engine) -> None:
    config = tmp_path / "dihya.toml"
    config.write_text('[services.api.staging]\nrunner = "ansible"\nplaybook = "deploy_web.yml"\n', encoding="utf-8")
    app = build_app(load_settings(data_dir=tmp_path, config_file=config), engine=engine)
    assert not seed_demo_inventory(app)
    assert app.store.servers() == []
