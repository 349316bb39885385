//! The production topology (`docker-compose.yml`, `Dockerfile`) matches the suite: every service
//! runs in its own container from the one image, with its own database and role, telemetry goes
//! to the collector, and no secret is written into the file.

use qiancheng_e2e::SERVICES;

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
