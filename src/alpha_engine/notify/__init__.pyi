from ._channels import send
from ._delivery import DELIVERY_LOG, Delivery, DeliveryReport, deliver, failed_deliveries
from ._errors import ChannelError, NotifyError
from ._formats import FAILURE_DETAIL_MAX_CHARS, execution_status_notice, status_notice
from ._topics import ALERTS_TOPIC, TOPICS, WATCHDOG_TOPIC, publish_to_topic

__all__ = ["ALERTS_TOPIC", "ChannelError", "DELIVERY_LOG", "Delivery", "DeliveryReport", "FAILURE_DETAIL_MAX_CHARS",
           "NotifyError", "TOPICS", "WATCHDOG_TOPIC", "deliver", "execution_status_notice", "failed_deliveries",
           "publish_to_topic", "send", "status_notice"]
