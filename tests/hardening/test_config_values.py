"""Values written into generated configuration refuse anything that would change the file's structure."""

import dataclasses

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from backups.drivers.pgbackrest import PgBackRest, Repo, StanzaConfig, render_config, root_problem
from backups.models import ProtectedDatabase
from core import config_values
from deployments.drivers.haproxy import HAProxyBalancer
from deployments.exceptions import DriverError as DeploymentDriverError
from deployments.models import DeploymentPolicy, Slot
from environments.models import Environment
from monitoring import config as monitoring_config
from monitoring.exceptions import ConfigRefused
from monitoring.models import Metric, Threshold

STRUCTURE_BREAKERS = ["a\nb", "a\rb", "a\x00b", "a\x1bb", "a\x85b", "a\u2028b", "a\u2029b", "\ufeffa"]

CFG = StanzaConfig(stanza="amarise-staging", data_directory="/pg/data", port=5432, socket_directory="/run/pg",
                   user="postgres", os_user="postgres", work_dir="/srv/backups",
                   repos=[Repo(1, "/repo1", 30)])  # fmt: skip


# --- the rule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", STRUCTURE_BREAKERS)
def test_problem__control_or_line_separator__named(value):
    assert "newline or another control character" in config_values.problem(value)


@pytest.mark.parametrize("value", ["/srv/backups", "amarise-prod", "Ünïcode ok", "a=b", "", None])
def test_problem__plain_value__accepted(value):
    assert config_values.problem(value) == ""


def test_problem__forbidden_characters__each_named():
    assert config_values.problem("web 1;shutdown", forbidden=config_values.HAPROXY_NAME) == (
        "it contains ' ' ';', which would change the file's structure"
    )


def test_problem__strip_sensitive__surrounding_blanks_refused():
    assert "blanks" in config_values.problem(" /repo1", strip_sensitive=True)
    assert config_values.problem(" /repo1") == ""


def test_check__refused__error_names_the_field_and_the_problem():
    with pytest.raises(config_values.ConfigValueRefused, match=r"^The repo path is refused: it contains a newline"):
        config_values.check("/repo\n[evil]", what="The repo path")


# --- pgBackRest -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["data_directory", "socket_directory", "user", "work_dir", "os_user", "stanza"])
def test_pgbackrest_render__newline_in_any_field__refused_permanently(field):
    # Given a stanza whose field tries to open a new section
    cfg = dataclasses.replace(CFG, **{field: getattr(CFG, field) + "\n[global]\nrepo1-path=/tmp"})
    # When the configuration is rendered, Then it is refused, naming the problem
    with pytest.raises(Exception, match="refused: it contains a newline") as caught:
        render_config(cfg)
    assert caught.value.permanent is True


def test_pgbackrest_render__newline_in_repo_path__refused():
    with pytest.raises(Exception, match="repo1 path .* refused"):
        render_config(dataclasses.replace(CFG, repos=[Repo(1, "/repo1\nrepo2-path=/x", 30)]))


def test_pgbackrest_render__quote_in_a_path__refused():
    # Paths are quoted in a scratch cluster's server options: a quote would end the value early
    with pytest.raises(Exception, match='contains "\'"'):
        render_config(dataclasses.replace(CFG, work_dir="/srv/it's"))
    database = ProtectedDatabase(stanza="s1", data_directory="/pg/data", os_user="postgres", work_dir="/w'x",
                                 repo1_path="/r1")  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        database.clean()
    assert "would change the file's structure" in caught.value.message_dict["work_dir"][0]


def test_pgbackrest_write_config__refused__nothing_written(tmp_path):
    cfg = dataclasses.replace(CFG, work_dir=str(tmp_path / "work"), os_user="", user="postgres\npg1-port=1")
    with pytest.raises(Exception, match="refused"):
        PgBackRest(cfg).write_config()
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize("os_user", ["root", "root "])
def test_pgbackrest__os_user_root__refused_with_a_clear_message(os_user):
    assert "never run as root" in root_problem(os_user)
    with pytest.raises(Exception, match="never run as root"):
        render_config(dataclasses.replace(CFG, os_user="root"))


def test_pgbackrest__os_user_postgres__accepted():
    assert root_problem("postgres") == ""
    assert "pg1-user=postgres" in render_config(CFG)


def test_protected_database_clean__root_and_newline__both_named():
    database = ProtectedDatabase(stanza="s1", data_directory="/pg/data\n[x]", os_user="root", work_dir="/w",
                                 repo1_path="/r1")  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        database.clean()
    errors = caught.value.message_dict
    assert "newline" in errors["data_directory"][0]
    assert "never run as root" in errors["os_user"][0]


# --- HAProxy runtime API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["blue;shutdown sessions", "blue\nset server x state maint", "blue green", "a/b"])
def test_haproxy__server_name_splitting_the_command__refused_before_sending(server, tmp_path):
    # Given a balancer whose socket does not exist: a command actually sent would fail differently
    balancer = HAProxyBalancer(f"unix:{tmp_path}/none.sock", "storefront")
    with pytest.raises(DeploymentDriverError, match="HAProxy server .* is refused") as caught:
        balancer.set_weight(server, 50)
    assert caught.value.permanent is True


def test_haproxy__model_clean__server_and_backend_named():
    with pytest.raises(ValidationError) as caught:
        Slot(server_name="blue;disable server x").clean()
    assert "';'" in caught.value.message_dict["server_name"][0]
    with pytest.raises(ValidationError) as caught:
        DeploymentPolicy(balancer_backend="storefront\nshutdown", health_path="/healthz").clean()
    assert "newline" in caught.value.message_dict["balancer_backend"][0]


# --- Prometheus and Alertmanager ---------------------------------------------------------------------------


def test_prometheus_rules__unit_with_line_separator__refused():
    metric = Metric(key="p95", name="p95", unit="ms\u2028  - alert: Injected", promql="x{$labels}", window="5m")
    threshold = Threshold(metric=metric, environment=Environment(key="staging", name="Staging"), warning=1,
                          critical=2, for_seconds=60)  # fmt: skip
    with pytest.raises(ConfigRefused, match="unit .* refused"):
        monitoring_config.alerting_rules(thresholds=[threshold])
    with pytest.raises(ValidationError):
        metric.clean()


def test_alertmanager__webhook_url_with_newline__refused():
    with override_settings(OPS_MONITORING_WEBHOOK_URL="https://ops.example/hook\n  receiver: evil"):
        with pytest.raises(ConfigRefused, match="OPS_MONITORING_WEBHOOK_URL is refused"):
            monitoring_config.alertmanager_config(token_file="/tmp/token")
