//! `mcamp users add|list|disable|reset`: who may sign in to the console. A password is read
//! from a prompt that does not echo, or from one line of standard input (for scripts), never
//! from the command line, where the shell history and `ps` would keep it.

use std::io::{BufRead, IsTerminal};

use chrono::Utc;
use clap::Subcommand;
use mcamp_core::users::{Email, Password, Role, User};
use mcamp_store::Db;
use mcamp_store::audit::AuditEntry;
use serde_json::json;

use super::{actor, campaign_id};
use crate::failure::Failure;
use crate::output;
use crate::say;
use crate::{Global, backend};

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a console user. The password is asked for (or read from standard input).
    Add {
        /// Their e-mail, the sign-in name.
        email: String,
        /// admin (changes campaigns, exports), viewer (reads), or store:STORE_ID (redeems at that
        /// store only).
        #[arg(long)]
        role: String,
        /// A campaign they see (repeat for several); none: every campaign.
        #[arg(long = "campaign", value_name = "ID")]
        campaigns: Vec<String>,
    },
    /// List the users (never their password hashes).
    List,
    /// Stop a user signing in; their sessions end at the next request.
    Disable { email: String },
    /// Set a new password (asked for, or read from standard input) and enable the user again.
    Reset { email: String },
}

/// A new password: typed twice at a prompt, or one line of standard input.
fn read_password() -> Result<Password, Failure> {
    let stdin = std::io::stdin();
    let typed = if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password (10+ characters): ")
            .map_err(|e| Failure::user(format!("reading the password: {e}")))?;
        let again =
            rpassword::prompt_password("Again: ").map_err(|e| Failure::user(format!("reading the password: {e}")))?;
        if first != again {
            return Err(Failure::user("the two passwords differ"));
        }
        first
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .take_line(&mut line)
            .map_err(|e| Failure::user(format!("reading the password from standard input: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(Password::parse(&typed)?)
}

/// One line, at most 1 KiB: a password, never a whole file piped by mistake.
trait TakeLine {
    fn take_line(&mut self, out: &mut String) -> std::io::Result<()>;
}

impl<R: BufRead> TakeLine for R {
    fn take_line(&mut self, out: &mut String) -> std::io::Result<()> {
        use std::io::Read;
        self.take(1024).read_line(out).map(|_| ())
    }
}

async fn audit(db: &Db, action: &str, email: &Email) -> Result<(), Failure> {
    db.audit(&AuditEntry {
        at: Utc::now(),
        actor: actor(),
        action: action.into(),
        detail: json!({"user": email}),
    })
    .await?;
    Ok(())
}

async fn existing(db: &Db, email: &Email) -> Result<User, Failure> {
    db.user(email)
        .await?
        .ok_or_else(|| Failure::user(format!("no user {email} (`mcamp users list` shows them)")))
}

pub async fn run(g: &Global, cmd: UsersCommand) -> Result<(), Failure> {
    let db = backend::open(g).await?;
    match cmd {
        UsersCommand::Add { email, role, campaigns } => {
            let email = Email::parse(&email)?;
            let role = Role::parse(&role)?;
            let campaigns = campaigns
                .iter()
                .map(|c| campaign_id(c))
                .collect::<Result<Vec<_>, _>>()?;
            for c in &campaigns {
                if db.campaign(c).await?.is_none() {
                    return Err(super::unknown_campaign(c));
                }
            }
            if let Role::Store(store) = &role
                && db.store(store).await?.is_none()
            {
                return Err(Failure::user(format!(
                    "unknown store '{store}' (`mcamp stores add {store} NAME` adds it)"
                )));
            }
            let password = read_password()?;
            let now = Utc::now();
            let user = User {
                email: email.clone(),
                role,
                campaigns,
                password_hash: password.hash().map_err(|e| Failure::Storage(e.to_string()))?,
                created_at: now,
                password_set_at: now,
                disabled_at: None,
            };
            if !db.add_user(&user).await? {
                return Err(Failure::user(format!(
                    "{email} is a user already (`mcamp users reset {email}` sets a new password)"
                )));
            }
            audit(&db, "users.add", &email).await?;
            if g.json {
                return output::json(&json!({"email": email, "role": user.role, "campaigns": user.campaigns}));
            }
            say!("{email} added as {}.", user.role);
        }
        UsersCommand::List => {
            let users = db.users().await?;
            if g.json {
                let rows: Vec<_> = users
                    .iter()
                    .map(|u| {
                        json!({"email": u.email, "role": u.role, "campaigns": u.campaigns,
                               "created_at": u.created_at, "disabled_at": u.disabled_at})
                    })
                    .collect();
                return output::json(&rows);
            }
            for u in &users {
                let campaigns = if u.campaigns.is_empty() {
                    "every campaign".to_owned()
                } else {
                    u.campaigns
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let state = if u.is_active() { "active" } else { "disabled" };
                say!(
                    "{}  {}  {}  {state}",
                    output::left(u.email.as_str(), 32),
                    output::left(&u.role.to_string(), 20),
                    campaigns
                );
            }
            if users.is_empty() {
                say!("no users yet: `mcamp users add you@brand.kr --role admin`");
            }
        }
        UsersCommand::Disable { email } => {
            let email = Email::parse(&email)?;
            let mut user = existing(&db, &email).await?;
            if user.disabled_at.is_none() {
                user.disabled_at = Some(Utc::now());
                db.save_user(&user).await?;
                audit(&db, "users.disable", &email).await?;
            }
            if g.json {
                return output::json(&json!({"email": email, "disabled_at": user.disabled_at}));
            }
            say!("{email} can no longer sign in.");
        }
        UsersCommand::Reset { email } => {
            let email = Email::parse(&email)?;
            let mut user = existing(&db, &email).await?;
            let password = read_password()?;
            user.password_hash = password.hash().map_err(|e| Failure::Storage(e.to_string()))?;
            user.password_set_at = Utc::now();
            user.disabled_at = None;
            db.save_user(&user).await?;
            audit(&db, "users.reset", &email).await?;
            if g.json {
                return output::json(&json!({"email": email, "password_set_at": user.password_set_at}));
            }
            say!("{email} has a new password and can sign in.");
        }
    }
    Ok(())
}
