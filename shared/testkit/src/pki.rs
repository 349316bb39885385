//! A test PKI: a CA made for one test, the certificates it issues to the suite's services (named
//! by the SAN URI `spiffe://qiancheng/service/<name>`) and to other clients, written as PEM files,
//! and the TLS settings a service reads them with.

use std::path::{Path, PathBuf};

use qiancheng_platform::config::{Settings, TlsClientAuth};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

/// A certificate authority made for one test.
#[derive(Debug)]
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
}

impl TestCa {
    /// A new CA called `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().expect("a CA key");
        Self { issuer: CertifiedIssuer::self_signed(params, key).expect("a self-signed CA") }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `127.0.0.1` and `localhost`, usable by a server and a client, naming the
    /// suite's service `service` when given (a client that is no service of the suite otherwise),
    /// with `dns` as one more name.
    pub fn issue(&self, service: Option<&str>, dns: &str) -> Issued {
        let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned(), dns.to_owned()])
            .expect("names");
        params.distinguished_name.push(DnType::CommonName, service.unwrap_or(dns));
        if let Some(service) = service {
            params.subject_alt_names.push(SanType::URI(
                format!("{}{service}", qiancheng_platform::tls::SERVICE_URI_PREFIX).try_into().expect("a URI"),
            ));
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().expect("a key");
        let cert = params.signed_by(&key, &self.issuer).expect("a certificate");
        Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }
}

/// The files of one party's TLS identity in a folder.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate file.
    pub cert: PathBuf,
    /// The key file.
    pub key: PathBuf,
    /// The CA file.
    pub ca: PathBuf,
}

impl TlsFiles {
    /// Writes `issued` as `<name>.crt` and `<name>.key`, and `ca` as `<name>-ca.pem`, in `dir`.
    pub fn write(dir: &Path, name: &str, issued: &Issued, ca: &TestCa) -> Self {
        let files = Self {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
            ca: dir.join(format!("{name}-ca.pem")),
        };
        files.replace(issued);
        std::fs::write(&files.ca, ca.pem()).expect("write the CA file");
        files
    }

    /// Replaces the certificate and key with `issued`, as a renewal would.
    pub fn replace(&self, issued: &Issued) {
        std::fs::write(&self.cert, &issued.cert_pem).expect("write the certificate");
        std::fs::write(&self.key, &issued.key_pem).expect("write the key");
    }

    /// `settings` serving and calling with these files, asking clients for a certificate as
    /// `client_auth` says, and letting the certificates of `client_services` stand in for their
    /// tokens.
    pub fn settings(&self, mut settings: Settings, client_auth: TlsClientAuth, client_services: &[&str]) -> Settings {
        settings.tls_cert_file = Some(self.cert.clone());
        settings.tls_key_file = Some(self.key.clone());
        settings.tls_ca_file = Some(self.ca.clone());
        settings.tls_client_auth = client_auth;
        settings.tls_client_services = client_services.iter().map(|s| (*s).to_owned()).collect();
        settings
    }
}
