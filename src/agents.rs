//! The agent roster, from `agents.toml`: who may log in to the console, their password hash
//! (argon2), how many chats they take at once and their teams. `frontdesk agent add` appends one.
//! With no roster, `serve` creates a demo agent with a one-time password it prints.
//!
//! The same file lists the managers and editors who may open `/admin` (`frontdesk admin add`).
//! An admin login is separate from an agent login: its own cookie and its own session kind, so an
//! agent's session never opens `/admin` and an admin's never opens the console.
//!
//! ```toml
//! [[agents]]
//! id = "alex"
//! name = "Alex"
//! password_hash = "$argon2id$v=19$..."
//! capacity = 3
//! teams = ["billing"]
//!
//! [[admins]]
//! id = "maria"
//! name = "Maria"
//! password_hash = "$argon2id$v=19$..."
//! ```

use std::path::Path;

use anyhow::Context;
use std::sync::LazyLock;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Chats an agent takes at once when `capacity` is not given.
pub const DEFAULT_CAPACITY: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// Login name and stable id: letters, digits, `-`, `_`.
    pub id: String,
    /// Shown to visitors ("Alex joined").
    pub name: String,
    pub password_hash: String,
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    #[serde(default)]
    pub teams: Vec<String>,
}

fn default_capacity() -> usize {
    DEFAULT_CAPACITY
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentsFile {
    #[serde(default)]
    agents: Vec<Agent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    admins: Vec<Admin>,
}

/// Someone who may open `/admin` (knowledge-base status, unanswered questions, KPIs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub id: String,
    pub name: String,
    pub password_hash: String,
}

/// Everyone who may log in.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub agents: Vec<Agent>,
    pub admins: Vec<Admin>,
}

/// Checks an agent id's shape (it becomes part of store keys).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

impl Roster {
    pub fn load(path: &Path) -> anyhow::Result<Roster> {
        if !path.exists() {
            return Ok(Roster::default());
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: AgentsFile = toml::from_str(&text)
            .with_context(|| format!("{}: invalid agents file", path.display()))?;
        for a in &file.admins {
            anyhow::ensure!(
                valid_id(&a.id),
                "{}: admin id `{}` may only hold letters, digits, `-` and `_`",
                path.display(),
                a.id
            );
            check_hash(path, "admin", &a.id, &a.password_hash)?;
        }
        for a in &file.agents {
            anyhow::ensure!(
                valid_id(&a.id),
                "{}: agent id `{}` may only hold letters, digits, `-` and `_`",
                path.display(),
                a.id
            );
            anyhow::ensure!(
                a.capacity >= 1,
                "{}: agent `{}` needs a capacity of at least 1",
                path.display(),
                a.id
            );
            check_hash(path, "agent", &a.id, &a.password_hash)?;
        }
        Ok(Roster {
            agents: file.agents,
            admins: file.admins,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// The agent whose id and password these are. Unknown ids cost a hash check too, so timing
    /// does not tell which of the two was wrong.
    pub fn verify(&self, id: &str, password: &str) -> Option<&Agent> {
        let agent = self.get(id);
        let ok = password_matches(agent.map(|a| a.password_hash.as_str()), password);
        agent.filter(|_| ok)
    }

    pub fn admin(&self, id: &str) -> Option<&Admin> {
        self.admins.iter().find(|a| a.id == id)
    }

    /// The admin whose id and password these are (same timing rule as `verify`).
    pub fn verify_admin(&self, id: &str, password: &str) -> Option<&Admin> {
        let admin = self.admin(id);
        let ok = password_matches(admin.map(|a| a.password_hash.as_str()), password);
        admin.filter(|_| ok)
    }

    /// Appends an admin to the roster file (created if missing).
    pub fn add_admin(path: &Path, admin: Admin) -> anyhow::Result<()> {
        anyhow::ensure!(
            valid_id(&admin.id),
            "an admin id may only hold letters, digits, `-` and `_`"
        );
        let mut file = read_file(path)?;
        anyhow::ensure!(
            file.admins.iter().all(|a| a.id != admin.id),
            "{}: an admin `{}` already exists",
            path.display(),
            admin.id
        );
        file.admins.push(admin);
        write_file(path, &file)
    }

    /// Appends an agent to the roster file (created if missing).
    pub fn add(path: &Path, agent: Agent) -> anyhow::Result<()> {
        anyhow::ensure!(
            valid_id(&agent.id),
            "an agent id may only hold letters, digits, `-` and `_`"
        );
        let mut file = read_file(path)?;
        anyhow::ensure!(
            file.agents.iter().all(|a| a.id != agent.id),
            "{}: an agent `{}` already exists",
            path.display(),
            agent.id
        );
        file.agents.push(agent);
        write_file(path, &file)
    }
}

/// The file in the data directory that keeps the demo logins (hashed), so they are made once.
pub const DEMO_LOGINS_FILE: &str = "demo-logins.toml";

/// A demo login `serve` uses while the roster has no agent (or no admin).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoLogin {
    /// `agent` or `admin`.
    pub kind: &'static str,
    pub id: String,
    /// The password, only when it was made just now (it is stored hashed and never shown again).
    pub new_password: Option<String>,
}

/// Adds a demo agent (`demo`) when `roster` has no agents and a demo admin (`admin`) when it has
/// no admins. With `keep` (a file, normally `data/demo-logins.toml`), they are read from it, or
/// made once and written to it with their password hashed; without it (the memory store, which
/// forgets everything anyway) they are new on every start.
pub fn add_demo_logins(roster: &mut Roster, keep: Option<&Path>) -> anyhow::Result<Vec<DemoLogin>> {
    let mut kept = match keep {
        Some(path) => read_file(path)?,
        None => AgentsFile::default(),
    };
    let mut logins = Vec::new();
    let mut made = false;
    let new_password = || crate::conversation::random_secret()[..16].to_owned();
    if roster.agents.is_empty() {
        let existing = kept.agents.iter().find(|a| a.id == "demo").cloned();
        let (agent, password) = match existing {
            Some(agent) => (agent, None),
            None => {
                let password = new_password();
                let agent = Agent {
                    id: "demo".into(),
                    name: "Demo Agent".into(),
                    password_hash: hash_password(&password)?,
                    capacity: DEFAULT_CAPACITY,
                    teams: Vec::new(),
                };
                kept.agents.push(agent.clone());
                made = true;
                (agent, Some(password))
            }
        };
        logins.push(DemoLogin {
            kind: "agent",
            id: agent.id.clone(),
            new_password: password,
        });
        roster.agents.push(agent);
    }
    if roster.admins.is_empty() {
        let existing = kept.admins.iter().find(|a| a.id == "admin").cloned();
        let (admin, password) = match existing {
            Some(admin) => (admin, None),
            None => {
                let password = new_password();
                let admin = Admin {
                    id: "admin".into(),
                    name: "Admin".into(),
                    password_hash: hash_password(&password)?,
                };
                kept.admins.push(admin.clone());
                made = true;
                (admin, Some(password))
            }
        };
        logins.push(DemoLogin {
            kind: "admin",
            id: admin.id.clone(),
            new_password: password,
        });
        roster.admins.push(admin);
    }
    if let (true, Some(path)) = (made, keep) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        write_file(path, &kept)?;
    }
    Ok(logins)
}

fn read_file(path: &Path) -> anyhow::Result<AgentsFile> {
    if !path.exists() {
        return Ok(AgentsFile::default());
    }
    toml::from_str(&std::fs::read_to_string(path)?)
        .with_context(|| format!("{}: invalid agents file", path.display()))
}

fn write_file(path: &Path, file: &AgentsFile) -> anyhow::Result<()> {
    std::fs::write(path, toml::to_string(file)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn check_hash(path: &Path, kind: &str, id: &str, hash: &str) -> anyhow::Result<()> {
    PasswordHash::new(hash).map(|_| ()).map_err(|e| {
        anyhow::anyhow!(
            "{}: {kind} `{id}`: password_hash is not an argon2 hash ({e})",
            path.display()
        )
    })
}

/// Whether `password` matches `hash`; an unknown account (`None`) costs a check too, so timing
/// does not tell which of the two was wrong.
fn password_matches(hash: Option<&str>, password: &str) -> bool {
    let hash = hash.unwrap_or(DUMMY_HASH.as_str());
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(h.algorithm.as_str());
    let version = Version::try_from(h.version.unwrap_or(Version::default().into()));
    let (Ok(algorithm), Ok(version), Ok(params), Some(salt), Some(expected)) =
        (algorithm, version, Params::try_from(&h), h.salt, h.hash)
    else {
        return false;
    };
    let mut memory = HASH_MEMORY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop()
        .unwrap_or_default();
    memory.resize(params.block_count(), Block::default());
    let mut out = vec![0u8; expected.as_ref().len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        &salt,
        &mut out,
        &mut memory[..],
    );
    HASH_MEMORY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(memory);
    computed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_ref()))
}

/// Argon2's working memory (~19 MiB a check), kept between checks: freed and allocated again
/// per login it stayed resident anyway (the allocator keeps it), ~18 MiB more for every
/// login on a new thread. As many buffers as checks ever ran at once (logins run two at a
/// time: `http::agent`).
static HASH_MEMORY: std::sync::Mutex<Vec<Vec<Block>>> = std::sync::Mutex::new(Vec::new());

/// An argon2 hash of a random string nobody knows: checked when the id is unknown.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&crate::conversation::random_secret()).unwrap_or_default());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_agents_log_in_with_their_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agents.toml");
        let agent = Agent {
            id: "alex".into(),
            name: "Alex".into(),
            password_hash: hash_password("correct horse").unwrap(),
            capacity: 2,
            teams: vec!["billing".into()],
        };
        Roster::add(&path, agent.clone()).unwrap();
        assert!(Roster::add(&path, agent).is_err(), "ids are unique");
        let roster = Roster::load(&path).unwrap();
        assert_eq!(roster.verify("alex", "correct horse").unwrap().name, "Alex");
        assert!(roster.verify("alex", "wrong").is_none());
        assert!(roster.verify("nobody", "correct horse").is_none());
        assert_eq!(
            roster.get("alex").unwrap().teams,
            vec!["billing".to_string()]
        );
    }

    #[test]
    fn demo_logins_are_made_once_and_kept_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let keep = dir.path().join(DEMO_LOGINS_FILE);
        let mut first = Roster::default();
        let made = add_demo_logins(&mut first, Some(&keep)).unwrap();
        let agent_password = made[0].new_password.clone().expect("a new password");
        assert!(
            !std::fs::read_to_string(&keep)
                .unwrap()
                .contains(&agent_password),
            "the file holds a hash, not the password"
        );
        let mut again = Roster::default();
        let kept = add_demo_logins(&mut again, Some(&keep)).unwrap();
        assert!(
            kept.iter().all(|l| l.new_password.is_none()),
            "not made twice"
        );
        assert!(again.verify("demo", &agent_password).is_some());
        let mut real = Roster {
            agents: first.agents.clone(),
            admins: first.admins.clone(),
        };
        assert!(add_demo_logins(&mut real, Some(&keep)).unwrap().is_empty());
    }

    #[test]
    fn a_broken_roster_is_an_error_that_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agents.toml");
        std::fs::write(
            &path,
            "[[agents]]\nid = \"a b\"\nname = \"A\"\npassword_hash = \"x\"\n",
        )
        .unwrap();
        let err = format!("{:#}", Roster::load(&path).unwrap_err());
        assert!(err.contains("agents.toml"), "{err}");
    }
}
