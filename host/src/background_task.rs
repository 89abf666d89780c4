//! A loop the host runs beside the API (the sync scheduler, the webhook dispatcher, the inbound
//! webhook worker): started with a stop signal, stopped by sending it and waiting, so that when
//! `stop` returns the task has let go of the store.

use std::future::Future;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running loop and its stop signal.
pub struct BackgroundTask {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl BackgroundTask {
    /// Spawns `run`, which gets the receiver of the stop signal and must end soon after it
    /// fires.
    pub fn spawn<F, Fut>(run: F) -> Self
    where
        F: FnOnce(oneshot::Receiver<()>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        Self {
            stop: Some(stop),
            task: tokio::spawn(run(stopped)),
        }
    }

    /// Signals the loop to stop and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}
