//! The production topology (`docker-compose.yml`, `Dockerfile`) matches the suite: every service
//! runs in its own container from the one image, with its own database and role, telemetry goes
//! to the collector, and no secret is written into the file.

use qiancheng_e2e::{CALLERS, SERVICES};

fn read(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_service_has_a_container_a_database_and_a_role() {
    let compose = read("docker-compose.yml");
    for service in SERVICES {
        assert!(
            compose.contains(&format!("command: [\"serve\", \"{service}\"]")),
            "{service} runs as `qiancheng serve {service}`"
        );
        assert!(compose.contains(&format!("/qiancheng_{service}")), "{service} connects to its own database");
        assert!(compose.contains(&format!("CREATE DATABASE qiancheng_{service}")), "{service} has a database");
        assert!(compose.contains(&format!("CREATE ROLE qiancheng_{service}")), "{service} has a role");
    }
    for part in ["otel-collector", "jaeger", "OTEL_EXPORTER_OTLP_ENDPOINT", "healthcheck"] {
        assert!(compose.contains(part), "the topology has {part}");
    }
}

#[test]
fn secrets_come_from_the_environment_not_the_file() {
    let compose = read("docker-compose.yml");
    for variable in ["QIANCHENG_DATA_KEY", "QIANCHENG_AUTH_PUBLIC_KEYS", "POSTGRES_PASSWORD"] {
        for line in compose.lines().filter(|l| l.contains(variable) && !l.trim_start().starts_with('#')) {
            assert!(line.contains("${"), "{variable} is taken from the environment: {line}");
        }
    }
}

#[test]
fn the_image_builds_the_one_binary_without_protoc() {
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("cargo build --release --locked -p qiancheng"));
    assert!(!dockerfile.contains("protobuf-compiler"), "protos build with protox, not protoc");
    assert!(dockerfile.contains("USER "), "the service does not run as root");
}

#[test]
fn each_calling_service_signs_with_a_key_its_peer_trusts_for_that_service_only() {
    let compose = read("docker-compose.yml");
    for (caller, callee) in CALLERS {
        assert!(
            compose.contains(&format!("QIANCHENG_SERVICE_SIGNING_KEY_FILE: /run/secrets/{caller}-signing-key")),
            "{caller} signs its calls with its own key"
        );
        assert!(
            compose.contains(&format!("QIANCHENG_PEER_{}_URL: http://{callee}:50051", callee.to_uppercase())),
            "{caller} knows where {callee} is"
        );
        assert!(
            compose.lines().any(|l| l.trim_start().starts_with("QIANCHENG_SERVICE_PUBLIC_KEYS:")
                && l.split([' ', ',']).any(
                    |pair| pair.starts_with(&format!("{caller}=${{QIANCHENG_{}_PUBLIC_KEY", caller.to_uppercase()))
                )),
            "{callee} trusts {caller}'s key for {caller}'s own calls only"
        );
    }
    let issuer =
        compose.lines().find(|l| l.trim_start().starts_with("QIANCHENG_AUTH_PUBLIC_KEYS:")).expect("issuer keys");
    assert!(
        !issuer.contains("SELECTION") && !issuer.contains("SUPERVISION"),
        "no service key is an issuer key: {issuer}"
    );
}

#[test]
fn ops_get_an_admin_port_dashboards_and_alerts_wired_to_the_metrics_the_suite_emits() {
    let compose = read("docker-compose.yml");
    for part in [
        "QIANCHENG_ADMIN_ADDR",
        "prometheus",
        "grafana",
        "./deploy/otel-collector.yaml",
        "./deploy/prometheus/alerts.yml",
        "./deploy/grafana/dashboards/qiancheng.json",
    ] {
        assert!(compose.contains(part), "the topology wires {part}");
    }
    let alerts = read("deploy/prometheus/alerts.yml");
    let dashboard = read("deploy/grafana/dashboards/qiancheng.json");
    serde_json::from_str::<serde_json::Value>(&dashboard).expect("the dashboard is JSON");
    // Every metric the alerts and the dashboard read is one the platform emits (see
    // shared/platform/src/telemetry/metrics.rs), under its Prometheus name.
    for metric in [
        "rpc_server_duration_milliseconds",
        "db_client_connections_pending_requests",
        "db_client_connections_wait_time_milliseconds",
        "qiancheng_audit_chain_broken_total",
    ] {
        assert!(alerts.contains(metric), "an alert reads {metric}");
    }
    for metric in [
        "rpc_client_duration_milliseconds",
        "db_client_connections_usage",
        "qiancheng_idempotent_replays_total",
        "qiancheng_audit_chain_length",
        "qiancheng_changes_total",
    ] {
        assert!(dashboard.contains(metric), "the dashboard shows {metric}");
    }
    let prometheus = read("deploy/prometheus/prometheus.yml");
    for service in SERVICES {
        assert!(prometheus.contains(&format!("{service}:9464")), "Prometheus scrapes {service}'s admin port");
    }
}

#[test]
fn kubernetes_runs_each_service_as_its_own_deployment_with_probes_a_budget_a_migration_and_a_fence() {
    let kustomization = read("deploy/k8s/base/kustomization.yaml");
    for service in SERVICES {
        assert!(kustomization.contains(&format!("- {service}.yaml")), "the base lists {service}");
        let manifest = read(&format!("deploy/k8s/base/{service}.yaml"));
        for part in [
            "kind: Deployment".to_owned(),
            format!("args: [\"serve\", \"{service}\"]"),
            format!("args: [\"migrate\", \"{service}\"]"),
            "kind: PodDisruptionBudget".to_owned(),
            "kind: NetworkPolicy".to_owned(),
            "path: /livez".to_owned(),
            "path: /readyz".to_owned(),
            format!("secretName: qiancheng-{service}"),
        ] {
            assert!(manifest.contains(&part), "{service}'s manifests have {part}");
        }
        assert!(!manifest.contains("kind: Secret\n"), "{service}'s secrets are referenced, never included");
    }
    for (caller, callee) in CALLERS {
        let callee_manifest = read(&format!("deploy/k8s/base/{callee}.yaml"));
        assert!(callee_manifest.contains(&format!("# {caller} calls {callee}.")), "{callee} admits {caller}");
        let caller_manifest = read(&format!("deploy/k8s/base/{caller}.yaml"));
        assert!(caller_manifest.contains(&format!("# It calls {callee}.")), "{caller} may reach {callee}");
        assert!(
            caller_manifest.contains(&format!("QIANCHENG_PEER_{}_URL", callee.to_uppercase())),
            "{caller} knows where {callee} is"
        );
    }
    assert!(read("deploy/k8s/base/namespace-policy.yaml").contains("name: default-deny"));
}
