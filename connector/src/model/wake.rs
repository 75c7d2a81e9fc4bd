//! Wake pokes: an instance that went idle is poked at its wake URL when
//! something is buffered for it, at most once per cooldown.

use relay_core::time::Instant;

use super::connector::{Connector, bump};
use super::interface::ConnectorOutput;

impl Connector {
    /// Registers the wake URL of `instance`.
    pub fn set_wake_url(&mut self, instance: &str, url: &str) {
        self.wake_urls.insert(instance.to_owned(), url.to_owned());
    }

    /// The wake URL of `instance`.
    pub fn wake_url(&self, instance: &str) -> Option<&str> {
        self.wake_urls.get(instance).map(String::as_str)
    }

    /// Emits a wake poke for `instance` now, or defers it to the end of the
    /// cooldown.
    pub(super) fn try_poke(&mut self, instance: &str, now: Instant) {
        let Some(url) = self.wake_urls.get(instance).cloned() else {
            return;
        };
        let cooldown = self.config.wake_cooldown;
        let Some(inst) = self.instances.get_mut(instance) else {
            return;
        };
        let ready_at = inst
            .last_poke
            .map_or(Instant::ZERO, |t| t.saturating_add(cooldown));
        if now >= ready_at {
            inst.last_poke = Some(now);
            inst.poke_due = None;
            bump(&mut self.stats.wake_pokes);
            self.outputs.push_back(ConnectorOutput::WakePoke {
                instance: instance.to_owned(),
                url,
            });
        } else {
            inst.poke_due = Some(ready_at);
        }
    }

    /// Sends the deferred pokes due at `now` that are still owed.
    pub(super) fn fire_due_pokes(&mut self, now: Instant) {
        let due: Vec<String> = self
            .instances
            .iter()
            .filter(|(_, i)| i.poke_due.is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for instance in due {
            let still_owed = self.instances.get_mut(&instance).is_some_and(|i| {
                i.poke_due = None;
                i.flipped && !i.buffer.is_empty()
            });
            if still_owed {
                self.try_poke(&instance, now);
            }
        }
    }
}
