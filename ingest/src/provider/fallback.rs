//! All four connectors, and fallback along a priority chain per asset class.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::provider::clock::Clock;
use crate::provider::config::ProvidersConfig;
use crate::provider::connector::Connector;
use crate::provider::error::{FetchError, ProviderFailure};
use crate::provider::fetched::Fetched;
use crate::provider::request::{AssetClass, FetchRequest, ProviderKind, Timeframe};

/// A fetch that may be served by any provider that has a symbol for the instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackRequest {
    /// The engine symbol written into the bars.
    pub symbol: String,
    /// The instrument's ticker at each provider (from the symbol master); providers without
    /// one are skipped.
    pub provider_symbols: BTreeMap<ProviderKind, String>,
    /// Bar length.
    pub timeframe: Timeframe,
    /// First date (inclusive).
    pub start: NaiveDate,
    /// Last date (inclusive).
    pub end: NaiveDate,
}

/// One connector per provider, built from a [`ProvidersConfig`].
#[derive(Debug)]
pub struct Connectors {
    config: ProvidersConfig,
    connectors: BTreeMap<ProviderKind, Connector>,
}

impl Connectors {
    /// Connectors for every provider of `config`.
    pub fn new(config: &ProvidersConfig) -> Result<Self, FetchError> {
        let connectors = ProviderKind::ALL
            .into_iter()
            .map(|k| Connector::new(k, config.get(k)).map(|c| (k, c)))
            .collect::<Result<_, _>>()?;
        Ok(Self { config: config.clone(), connectors })
    }

    /// Uses `clock` in every connector.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.connectors = std::mem::take(&mut self.connectors)
            .into_iter()
            .map(|(k, c)| (k, c.with_clock(clock.clone())))
            .collect();
        self
    }

    /// Replaces one connector (e.g. with a custom retry policy).
    pub fn with_connector(mut self, connector: Connector) -> Self {
        self.connectors.insert(connector.kind(), connector);
        self
    }

    /// The connector of `kind`.
    pub fn get(&self, kind: ProviderKind) -> &Connector {
        // `new` inserts every kind and `with_connector` only replaces.
        &self.connectors[&kind]
    }

    /// Tries the providers of `class` in priority order and returns the first success; its
    /// [`FetchMeta::provider`](crate::FetchMeta::provider) says who served and
    /// `fallback_failures` what the others before it answered.
    ///
    /// An empty answer is a success (a holiday has no bars) and ends the chain. When every
    /// provider fails, the error keeps each one's failure in order.
    pub async fn fetch(
        &self,
        class: AssetClass,
        request: &FallbackRequest,
    ) -> Result<Fetched, FetchError> {
        let mut failures = Vec::new();
        let mut tried = false;
        for kind in self.config.chain(class) {
            let Some(provider_symbol) = request.provider_symbols.get(&kind) else { continue };
            tried = true;
            let one = FetchRequest::new(
                request.symbol.clone(),
                provider_symbol.clone(),
                request.timeframe,
                request.start,
                request.end,
            );
            match self.get(kind).fetch(&one).await {
                Ok(mut fetched) => {
                    fetched.meta.fallback_failures = failures;
                    return Ok(fetched);
                }
                Err(error) => failures.push(ProviderFailure { provider: kind, error }),
            }
        }
        if !tried {
            return Err(FetchError::NoProvider {
                symbol: request.symbol.clone(),
                asset_class: class.name().to_owned(),
            });
        }
        Err(FetchError::AllProvidersFailed { symbol: request.symbol.clone(), failures })
    }
}
