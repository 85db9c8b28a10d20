"""What can go wrong with a campaign, as one line for staff."""

from crm.errors import MailbagError


class CampaignError(MailbagError):
    """A campaign request that cannot be carried out (unknown campaign, wrong reply template)."""


class ReplyIncomplete(MailbagError):
    """A reply to all stopped before every sender had it (the server was down): run it again."""
