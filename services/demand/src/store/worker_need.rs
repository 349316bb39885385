//! Workers' employment and training needs as stored. The resident ID number, name and phone are
//! kept encrypted, with a keyed hash of the ID number beside them; the masked forms are what
//! responses show. Nothing here reads the encrypted columns back; `qiancheng reencrypt demand`
//! moves them to the newest data key ([`SEALED`]).

use qiancheng_api::convert::Shown;
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel, TargetGroup};
use qiancheng_platform::Stamp;
use qiancheng_platform::record::{Columns, Record};

/// A worker's need as stored; the person's sealed data is written once and never read back.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "worker_need", what = "the worker's need")]
#[shown(message = "qiancheng_api::demand::WorkerNeed")]
pub struct WorkerNeedRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// Masked ID number.
    #[column(fixed, hidden)]
    pub id_number_masked: String,
    /// Masked name.
    #[column(fixed, hidden)]
    pub name_masked: String,
    /// Masked phone.
    #[column(fixed, hidden)]
    pub phone_masked: String,
    /// County.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// Target group.
    pub target_group: TargetGroup,
    /// Industry wanted.
    pub wanted_industry: Option<Industry>,
    /// Occupation wanted.
    pub wanted_occupation_code: Option<OccupationCode>,
    /// Occupation wanted, name.
    pub wanted_occupation_name: String,
    /// Lowest monthly pay wanted, fen.
    pub wanted_pay_min_fen: i64,
    /// Occupation held.
    pub held_occupation_code: Option<OccupationCode>,
    /// Level held.
    pub held_skill_level: Option<SkillLevel>,
    /// Wants training.
    pub wants_training: bool,
    /// Training occupation.
    pub training_occupation_code: Option<OccupationCode>,
    /// Training level.
    pub training_skill_level: Option<SkillLevel>,
    /// Who recorded it.
    #[column(fixed, hidden)]
    pub created_by: String,
    /// The person, sealed.
    #[column(flatten, sealed)]
    pub person: SealedPerson,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

/// The person's data as stored: encrypted, with the keyed hash of the ID number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Columns)]
pub struct SealedPerson {
    /// Keyed hash of the ID number, for lookups and duplicates.
    pub id_number_hash: String,
    /// Encrypted ID number.
    pub id_number_cipher: String,
    /// Encrypted name.
    pub name_cipher: String,
    /// Encrypted phone.
    pub phone_cipher: String,
}

/// The sealed columns and the lookup hash of the table, for re-encryption.
pub const SEALED: qiancheng_platform::rekey::SealedTable = qiancheng_platform::rekey::SealedTable {
    table: "worker_need",
    key: "id",
    ciphers: &["id_number_cipher", "name_cipher", "phone_cipher"],
    hashes: &[("id_number_hash", "id_number_cipher")],
};

impl WorkerNeedRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("workerNeeds/{}", self.id)
    }
}
