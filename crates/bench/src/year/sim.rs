//! The year, hour by hour: the clock moves, members join, revoke, click and are read by the
//! host app at their times, the instances' own schedulers sweep at noon and midnight, the
//! outbox's emails reach the SMTP server and the members who get them decide when to click.
//! Faults come on their days. Everything seen is written to the `Record`.

use super::faults::{Fault, FaultPlan};
use super::fleet::{Member, Network};
use super::host::{Connect, Host, Read};
use super::observe::Observer;
use super::record::{EmailSeen, Record};
use super::world::World;
use anyhow::Context;
use chrono::{DateTime, Duration, Timelike, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Work for one member at one time.
#[derive(Debug, Clone)]
enum Act {
    Join,
    Revoke,
    Read,
    /// The member opens the newest link they were sent.
    Click,
}

/// What the simulation knows of each member as the year goes.
#[derive(Debug, Clone, Default)]
pub struct MemberState {
    pub connected_at: Option<DateTime<Utc>>,
    /// Revoked at the network and not reconnected since.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The newest reconnect link the member was sent, and whether a click is planned.
    pub link: Option<String>,
    pub click_planned: bool,
}

pub struct Sim<'a> {
    pub world: &'a mut World,
    pub observer: &'a Observer,
    pub host: Host,
    pub members: &'a [Member],
    pub faults: FaultPlan,
    pub record: Record,
    pub states: Vec<MemberState>,
    agenda: BTreeMap<(DateTime<Utc>, u64), (usize, Act)>,
    seq: u64,
    rng: StdRng,
    /// How many member acts run at once (as many browsers and host requests).
    pub parallel: usize,
    /// How far the clock moves at each step; divides 12, so every sweep slot is a step.
    pub step: Duration,
}

impl<'a> Sim<'a> {
    pub fn new(
        world: &'a mut World,
        observer: &'a Observer,
        host: Host,
        members: &'a [Member],
        faults: FaultPlan,
        seed: u64,
    ) -> Self {
        let mut sim = Self {
            world,
            observer,
            host,
            members,
            faults,
            record: Record::default(),
            states: vec![MemberState::default(); members.len()],
            agenda: BTreeMap::new(),
            seq: 0,
            rng: StdRng::seed_from_u64(seed ^ 0x5eed),
            parallel: 16,
            step: Duration::hours(1),
        };
        for m in members {
            sim.plan(m.joins_at, m.index, Act::Join);
            for &at in &m.revokes_at {
                sim.plan(at, m.index, Act::Revoke);
            }
            for &at in &m.reads_at {
                sim.plan(at, m.index, Act::Read);
            }
        }
        sim
    }

    fn plan(&mut self, at: DateTime<Utc>, member: usize, act: Act) {
        self.seq += 1;
        self.agenda.insert((at, self.seq), (member, act));
    }

    /// Runs from `start` to `end`, a step at a time.
    pub async fn run(&mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> anyhow::Result<()> {
        let mut now = start;
        while now < end {
            let step = std::time::Instant::now();
            now += self.step;
            if self.faults.kill_at(now) {
                // Token calls slow down for this slot, so that the kill lands mid-sweep.
                self.slow_token_calls(true).await?;
            }
            self.world.clock.set(now).await?;
            for fault in self.faults.starting_at(now, self.step) {
                self.begin_fault(fault, now).await?;
            }
            let acts = self.take_due(now);
            let t = std::time::Instant::now();
            self.act(acts, now).await?;
            self.record.spent("acts", t.elapsed());
            if now.hour().is_multiple_of(12) {
                let t = std::time::Instant::now();
                self.await_sweep(now).await?;
                self.record.spent("sweeps", t.elapsed());
            }
            let t = std::time::Instant::now();
            self.deliver_mail().await?;
            self.read_mail(now);
            self.record.spent("mail", t.elapsed());
            if now.hour() == 12 && now.minute() == 0 {
                let t = std::time::Instant::now();
                self.record
                    .sample_day(now, self.observer, self.members, &self.states)
                    .await?;
                self.record.spent("daily picture", t.elapsed());
            }
            self.record.note_step(now, step.elapsed());
        }
        Ok(())
    }

    fn take_due(&mut self, now: DateTime<Utc>) -> Vec<(usize, Act)> {
        let later = self.agenda.split_off(&(now + Duration::nanoseconds(1), 0));
        std::mem::replace(&mut self.agenda, later)
            .into_values()
            .collect()
    }

    /// Runs the hour's acts, up to `parallel` at once; what each changes is applied after.
    async fn act(&mut self, acts: Vec<(usize, Act)>, now: DateTime<Utc>) -> anyhow::Result<()> {
        let service = self.live_instance_url()?;
        let semaphore = Arc::new(tokio::sync::Semaphore::new(self.parallel));
        let mut tasks = tokio::task::JoinSet::new();
        for (index, act) in acts {
            let member = self.members[index].clone();
            let state = self.states[index].clone();
            match act {
                Act::Join if state.connected_at.is_none() => {}
                Act::Join => continue,
                Act::Revoke if state.connected_at.is_some() && state.revoked_at.is_none() => {
                    self.world
                        .fake(member.network)
                        .revoke(self.host.http(), &member.sub())
                        .await?;
                    self.states[index].revoked_at = Some(now);
                    self.record.revocations.push((index, now));
                    continue;
                }
                Act::Revoke => continue,
                Act::Read if state.connected_at.is_some() => {}
                Act::Read => continue,
                Act::Click => {
                    self.states[index].click_planned = false;
                }
            }
            let permit = semaphore.clone().acquire_owned().await?;
            let host = self.host.clone();
            let service = service.clone();
            let use_url = self.world.fake(member.network).use_url(member.network);
            tasks.spawn(async move {
                let _permit = permit;
                let started = std::time::Instant::now();
                let outcome = match act {
                    Act::Join => Outcome::Connected(connect_in_app(&host, &service, &member).await),
                    Act::Click => {
                        let link = state.link.clone().unwrap_or_default();
                        Outcome::Clicked(click(&host, &service, &member, &link).await)
                    }
                    Act::Read => Outcome::Read(
                        host.read_and_use(
                            &service,
                            &member.user_id(),
                            member.network.provider(),
                            &use_url,
                        )
                        .await,
                    ),
                    Act::Revoke => unreachable!("revocations are applied above"),
                };
                (member.index, outcome, started.elapsed())
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (index, outcome, took) = done.context("a member's act panicked")?;
            let kind = match &outcome {
                Outcome::Connected(_) => "act: join",
                Outcome::Clicked(_) => "act: click",
                Outcome::Read(_) => "act: read",
            };
            self.record.spent(kind, took);
            self.apply(index, outcome, now);
        }
        Ok(())
    }

    fn apply(&mut self, index: usize, outcome: Outcome, now: DateTime<Utc>) {
        let state = &mut self.states[index];
        match outcome {
            Outcome::Connected(Ok(Connect::Connected)) => {
                state.connected_at = Some(now);
                self.record.joins += 1;
            }
            Outcome::Clicked(Ok(Connect::Connected)) => {
                state.connected_at = Some(now);
                state.revoked_at = None;
                state.link = None;
                self.record.reconnects.push((index, now));
            }
            // The network was down (the connect page says so with a 502 or 503): the member
            // tries again a few hours later, as one would. Anything else is a failure.
            Outcome::Connected(Ok(Connect::Failed(page))) if network_down(&page) => {
                self.record.connects_put_off += 1;
                self.plan(now + Duration::hours(6), index, Act::Join);
            }
            Outcome::Clicked(Ok(Connect::Failed(page))) if network_down(&page) => {
                self.record.connects_put_off += 1;
                state.click_planned = true;
                self.plan(now + Duration::hours(6), index, Act::Click);
            }
            Outcome::Connected(other) => {
                self.record
                    .connect_failures
                    .push((index, now, format!("joining: {other:?}")))
            }
            Outcome::Clicked(other) => {
                self.record
                    .connect_failures
                    .push((index, now, format!("reconnecting: {other:?}")))
            }
            Outcome::Read(Ok(read)) => self.record.count_read(&read),
            Outcome::Read(Err(e)) => self.record.count_read(&Read::Unavailable(e.to_string())),
        }
    }

    fn live_instance_url(&self) -> anyhow::Result<url::Url> {
        self.world
            .instances
            .iter()
            .find(|i| i.running())
            .map(|i| i.url.clone())
            .context("no instance is running")
    }

    /// Waits until the slot's sweep has run to its end, on whichever instance took it.
    async fn await_sweep(&mut self, slot: DateTime<Utc>) -> anyhow::Result<()> {
        let kill_during = self.faults.kill_at(slot);
        let mut killed = false;
        for _ in 0..60_000 {
            match self.observer.run_of(slot).await? {
                Some(run) if run.finished => {
                    self.record.count_sweep(&run.outcome);
                    if kill_during {
                        self.slow_token_calls(false).await?;
                    }
                    return Ok(());
                }
                Some(_) if kill_during && !killed => {
                    // Mid-sweep: kill whichever instance runs it (we cannot tell which: the
                    // first), then start it again as a supervisor would.
                    let instance = &mut self.world.instances[0];
                    let memory = instance.peak_memory_kib();
                    self.record.note_memory(memory);
                    instance.kill().await?;
                    self.record.kills += 1;
                    self.record.kill_times.push(slot);
                    killed = true;
                    let http = self.host.http().clone();
                    self.world.instances[0].start(&http).await?;
                }
                Some(_) if killed => {
                    // The killed run stays "running" for ever; the restarted instance catches
                    // up at the next slot. Nothing more to wait for.
                    self.record.count_sweep("killed");
                    self.slow_token_calls(false).await?;
                    return Ok(());
                }
                _ => {}
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        anyhow::bail!("the sweep of {slot} did not finish within two minutes")
    }

    /// Lets the outbox send what is due before the clock moves on: the next jump would
    /// otherwise outrun the claims of sends still under way, and another instance would take
    /// them as abandoned. While emails are due, the clock moves by a second, which wakes the
    /// workers, and the simulation waits until each was sent or put off to a later attempt.
    async fn deliver_mail(&mut self) -> anyhow::Result<()> {
        for _ in 0..10 {
            let at = self.world.clock.now();
            if self.observer.due_emails(at).await? == 0 {
                return Ok(());
            }
            let at = at + Duration::seconds(1);
            self.world.clock.set(at).await?;
            let mut waited = 0;
            while self.observer.due_emails(at).await? > 0 {
                anyhow::ensure!(
                    waited < 60_000,
                    "the outbox still owes the emails due at {at} after two minutes"
                );
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                waited += 1;
            }
        }
        Ok(())
    }

    /// Takes the emails the SMTP server accepted; each member decides when to click.
    fn read_mail(&mut self, now: DateTime<Utc>) {
        for mail in self.world.smtp.take_received() {
            let seen = EmailSeen::parse(&mail, now);
            let Some(index) = seen.member else {
                self.record.strange_emails += 1;
                continue;
            };
            let member = &self.members[index];
            if let Some(link) = &seen.link {
                let state = &mut self.states[index];
                state.link = Some(link.clone());
                if !state.click_planned {
                    if let Some(delay) = member.answer.delay(&mut self.rng) {
                        state.click_planned = true;
                        self.plan(now + delay, index, Act::Click);
                    }
                }
            }
            self.record.emails.push(seen);
        }
    }

    async fn slow_token_calls(&mut self, slow: bool) -> anyhow::Result<()> {
        let http = self.host.http().clone();
        for network in Network::ALL {
            let fake = self.world.fake(network);
            if slow {
                let latency = serde_json::json!({"latency_ms": 300});
                fake.fail_token_calls(&http, network, latency).await?;
            } else {
                fake.clear_faults(&http).await?;
            }
        }
        Ok(())
    }

    async fn begin_fault(&mut self, fault: Fault, now: DateTime<Utc>) -> anyhow::Result<()> {
        let http = self.host.http().clone();
        self.record.faults.push((now, format!("{fault:?}")));
        match fault {
            Fault::ProviderDown { network, fault } => {
                self.world
                    .fake(network)
                    .fail_token_calls(&http, network, fault)
                    .await?
            }
            Fault::ProviderUp { network } => self.world.fake(network).clear_faults(&http).await?,
            Fault::SmtpDown => self.world.smtp.set_down(true),
            Fault::SmtpUp => self.world.smtp.set_down(false),
        }
        Ok(())
    }
}

/// Whether a connect page that failed says the network did not answer usefully.
fn network_down(page: &str) -> bool {
    page.starts_with("502 ") || page.starts_with("503 ")
}

enum Outcome {
    Connected(anyhow::Result<Connect>),
    Clicked(anyhow::Result<Connect>),
    Read(anyhow::Result<Read>),
}

/// The member connects from the host app: a fresh connect link, followed.
async fn connect_in_app(
    host: &Host,
    service: &url::Url,
    member: &Member,
) -> anyhow::Result<Connect> {
    let link = host
        .connect_link(
            service,
            &member.user_id(),
            &member.email(),
            member.network.provider(),
        )
        .await?;
    host.follow(&link, service, &member.sub()).await
}

/// The member clicks the link of their newest email; a link that has run out sends them to
/// the host app, which gives them a fresh one.
async fn click(
    host: &Host,
    service: &url::Url,
    member: &Member,
    link: &str,
) -> anyhow::Result<Connect> {
    match host.follow(link, service, &member.sub()).await? {
        Connect::LinkSpent => connect_in_app(host, service, member).await,
        other => Ok(other),
    }
}

/// Members by their user id, for matching accounts to members.
pub fn by_user_id(members: &[Member]) -> HashMap<String, usize> {
    members.iter().map(|m| (m.user_id(), m.index)).collect()
}
