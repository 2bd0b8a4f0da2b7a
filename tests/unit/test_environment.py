"""The conda environment file carries exactly the pins of requirements.lock."""
import yaml

from osteobook.paths import ROOT


def test_environment_yml_has_the_lock_pins():
    lock = {line for line in (ROOT / "requirements.lock").read_text().splitlines()
            if line and not line.startswith("#")}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert set(pip) - {"-e ."} == lock


def test_lock_pins_the_engine_versions_that_build_offline():
    lock = (ROOT / "requirements.lock").read_text().splitlines()
    for pin in ("jupyter-book==1.0.4.post1", "sphinx==7.4.7", "papermill==2.7.0", "jupytext==1.19.6", "jupyterlab=="):
        assert any(line.lower().startswith(pin) for line in lock), pin
