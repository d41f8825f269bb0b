"""`make demo`'s fleet on the map: its four sites registered with their coordinates."""

from __future__ import annotations

from vp_monitor.db import session_factory, transaction


def test_demo_fleet_puts_its_four_sites_on_the_map(engine, secret_key):
    """The demo registers the fleet's sites with the fleet file's coordinates (Hauts-de-Seine
    and Yvelines), so the map of sites shows all four, each with its cameras counted."""
    from vp_monitor.demo import DEFAULT_FLEET, register_fleet
    from vp_monitor.registry.scope import Scope
    from vp_monitor.registry.secrets import SecretBox
    from vp_monitor.registry.service import Registry
    from vp_monitor.service.site_map import site_map
    from vp_monitor.sim.fleet import load_fleet

    fleet = load_fleet(DEFAULT_FLEET)
    with transaction(session_factory(engine)) as session:
        register_fleet(
            Registry(session, SecretBox(secret_key.encode()), "demo"),
            fleet,
            "http://127.0.0.1:9/hook",
        )
    with transaction(session_factory(engine)) as session:
        found = site_map(session, Scope.supervision())
    sites = {site["name"]: site for site in found["sites"]}
    assert sorted(sites) == ["Gare Rive Droite", "Hôtel de Ville", "Parc Rothschild", "Préfecture"]
    assert found["without_coordinates"] == 0
    for name, site in sites.items():
        assert 48.7 < site["latitude"] < 49.0 and 2.0 < site["longitude"] < 2.4, site
        assert site["total"] == sum(1 for fc in fleet.cameras if fc.site.name == name) > 0
        assert site["state"] == "unknown"  # not checked yet
